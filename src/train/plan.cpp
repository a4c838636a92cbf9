// See plan.h.
#include "train/plan.h"

#include <algorithm>
#include <cstdio>

namespace hearth::train {
namespace {

std::string gib(uint64_t bytes) {
  char buf[32];
  if (bytes >= (uint64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace

MemoryPlan plan_memory(const model::Model& model, const LoraAdapter& adapter, int64_t max_seq,
                       int batch, int threads, bool recompute) {
  const model::Hparams& hp = model.hparams();
  const uint64_t T = static_cast<uint64_t>(std::max<int64_t>(1, max_seq));
  const uint64_t E = static_cast<uint64_t>(hp.n_embd), F = static_cast<uint64_t>(hp.n_ff);
  const uint64_t q = static_cast<uint64_t>(hp.n_q_dim()), kv = static_cast<uint64_t>(hp.n_kv_dim());
  const uint64_t H = static_cast<uint64_t>(hp.n_head), V = static_cast<uint64_t>(hp.n_vocab);
  const uint64_t L = static_cast<uint64_t>(hp.n_layer);
  constexpr uint64_t f = sizeof(float);

  MemoryPlan p;
  for (const auto& t : model.file().tensors()) p.weights += t.n_bytes;
  uint64_t adapter_floats = 0, lora_rows = 0;
  for (const LoraWeight& pair : adapter.weights) {
    adapter_floats += pair.a.size() + pair.b.size();
    lora_rows += static_cast<uint64_t>(pair.rank);
  }
  p.adapter = adapter_floats * f;
  p.gradients = p.adapter * (batch > 1 ? 2 : 1);
  p.optimizer = 2 * p.adapter;

  // Per token and layer: x_in, xn_attn, x_mid, xn_ffn (4E), two RMS scales, q and the attention
  // output, k and v, the heads' log-sum-exps, the FFN rows, and A x of the adapted projections
  // (lora_rows counts every layer's).
  uint64_t ffn = 3 * F;
  if (hp.n_expert > 0) {
    const auto nu = static_cast<uint64_t>(hp.n_expert_used);
    ffn = static_cast<uint64_t>(hp.n_expert) + 2 * nu + 3 * nu * F + nu * E;
  }
  const uint64_t per_token_layer = 4 * E + 2 + 2 * q + 2 * kv + H + ffn;
  p.recompute = recompute;
  if (recompute)  // every block's input, and one block's activations at a time
    p.activations = (T * L * E + T * per_token_layer + T * lora_rows / std::max<uint64_t>(L, 1) +
                     4 * T * E + T) * f;
  else
    p.activations = (T * L * per_token_layer + T * lora_rows + 4 * T * E + T) * f;
  p.logits = 2 * T * V * f + 2 * T * E * f;
  // One block's backward temporaries (the FFN's and attention's row gradients) and, per thread,
  // a slab of a transposed weight with its partial products.
  const uint64_t widest = std::max<uint64_t>({E, F, q, V > 0 ? E : 0});
  p.working = (5 * T * F + 3 * T * E + T * q + 2 * T * kv) * f +
              static_cast<uint64_t>(std::max(1, threads)) * (2 * T * widest + 64 * widest) * f;
  return p;
}

MemoryPlan choose_plan(const model::Model& model, const LoraAdapter& adapter, int64_t max_seq,
                       int batch, int threads, uint64_t available, bool force_recompute) {
  const MemoryPlan kept = plan_memory(model, adapter, max_seq, batch, threads, false);
  if (!force_recompute && (available == 0 || kept.peak() <= available)) return kept;
  return plan_memory(model, adapter, max_seq, batch, threads, true);
}

std::string plan_text(const MemoryPlan& p, uint64_t available) {
  std::string out;
  auto line = [&out](const char* name, uint64_t bytes) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "  %-12s %12s\n", name, gib(bytes).c_str());
    out += buf;
  };
  line("weights", p.weights);
  line("adapter", p.adapter);
  line("gradients", p.gradients);
  line("optimizer", p.optimizer);
  line(p.recompute ? "activations*" : "activations", p.activations);
  line("logits", p.logits);
  line("working", p.working);
  line("peak", p.peak());
  if (available > 0) line("available", available);
  if (p.recompute) out += "  * recomputed block by block in the backward pass (about 1/3 more work)\n";
  return out;
}

}  // namespace hearth::train
