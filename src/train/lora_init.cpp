#include "train/lora_init.h"

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/splitmix.h"
#include "train/block.h"

namespace hearth::train {

namespace {

// The slots a target name selects on a block (fused layouts map several names to one slot).
int target_slot(std::string_view target, const model::LayerWeights& w) {
  const bool fused_qkv = w.wqkv.data != nullptr;
  if (target == "q") return fused_qkv ? kQkv : kQ;
  if (target == "k") return fused_qkv ? kQkv : kK;
  if (target == "v") return fused_qkv ? kQkv : kV;
  if (target == "o") return kO;
  if (target == "gate") return w.gate_up_fused ? kUp : kGate;
  if (target == "up") return kUp;
  if (target == "down") return kDown;
  std::string known;
  for (std::string_view t : kDefaultTargets) known += (known.empty() ? "" : ", ") + std::string(t);
  throw Error(ErrorKind::invalid_input,
              "unknown LoRA target \"" + std::string(target) + "\" (known: " + known + ")");
}

}  // namespace

LoraAdapter new_adapter(const model::Model& model, std::span<const std::string> targets, int rank,
                        float alpha, uint64_t seed) {
  if (rank < 1) throw Error(ErrorKind::invalid_input, "LoRA rank must be at least 1");
  LoraAdapter adapter;
  adapter.arch = model.hparams().arch;
  adapter.alpha = alpha;
  SplitMix rng{seed};
  const auto& layers = model.weights().layers;
  for (size_t l = 0; l < layers.size(); ++l) {
    std::set<int> slots;
    for (const std::string& target : targets) {
      const int slot = target_slot(target, layers[l]);
      const bool ffn = slot == kGate || slot == kUp || slot == kDown;
      if (!(ffn && layers[l].is_moe())) slots.insert(slot);
    }
    for (int slot : slots) {  // in slot order: q, k, v, qkv, o, gate, up, down
      const kernels::WeightMatrix& w = slot_weight(layers[l], slot);
      LoraWeight pair;
      pair.base = model::layer_tensor(static_cast<int>(l), slot_suffix(slot));
      pair.n_in = w.n_in;
      pair.n_out = w.n_out;
      pair.rank = rank;
      pair.a.resize(static_cast<size_t>(rank * w.n_in));
      const float bound = 1.0f / std::sqrt(static_cast<float>(w.n_in));
      for (float& v : pair.a) v = bound * rng.symmetric();
      pair.b.assign(static_cast<size_t>(w.n_out * rank), 0.0f);
      adapter.weights.push_back(std::move(pair));
    }
  }
  return adapter;
}

}  // namespace hearth::train
