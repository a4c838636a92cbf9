#include "train/network.h"

#include <algorithm>

#include "core/error.h"
#include "train/block.h"

namespace hearth::train {

namespace {

// What one run computes besides the blocks' activations: the residual stream, the final norm,
// the target rows and their logits, and their gradients.
struct RunBuffers {
  std::vector<LayerActs> acts;                // every block's, or one block's when recomputing
  std::vector<std::vector<float>> inputs;     // each block's input, when recomputing
  std::vector<float> x, rstd, xf, xs, logits, dlogits, dxs, dxf, dx;
};

// Each block's LoRA bindings for `adapter`; every pair must land on a weight of the model.
std::vector<BlockLora> bind(const model::Model& m, const LoraAdapter& adapter, float lora_scale,
                            LoraGradients* grads) {
  const model::ModelWeights& w = m.weights();
  std::vector<BlockLora> blocks(w.layers.size());
  size_t bound = 0;
  for (size_t l = 0; l < w.layers.size(); ++l)
    for (int slot = 0; slot < kSlotCount; ++slot) {
      const kernels::WeightMatrix& weight = slot_weight(w.layers[l], slot);
      if (!weight.data) continue;
      const std::string name = model::layer_tensor(static_cast<int>(l), slot_suffix(slot));
      const LoraWeight* pair = adapter.find(name);
      if (!pair) continue;
      if (pair->n_in != weight.n_in || pair->n_out != weight.n_out || pair->rank < 1)
        throw Error(ErrorKind::invalid_input,
                    "LoRA adapter: " + name + " has shape [" + std::to_string(pair->n_in) + ", " +
                        std::to_string(pair->n_out) + "] but the base weight is [" +
                        std::to_string(weight.n_in) + ", " + std::to_string(weight.n_out) + "]");
      const auto index = static_cast<size_t>(pair - adapter.weights.data());
      LoraBinding& b = blocks[l][static_cast<size_t>(slot)];
      b.a = pair->a.data();
      b.b = pair->b.data();
      b.rank = pair->rank;
      b.scale = lora_scale * adapter.alpha / static_cast<float>(pair->rank);
      if (grads) {
        b.grad_a = grads->a[index].data();
        b.grad_b = grads->b[index].data();
      }
      ++bound;
    }
  if (bound != adapter.weights.size())
    for (const LoraWeight& p : adapter.weights) {
      bool found = false;
      for (size_t l = 0; l < w.layers.size() && !found; ++l)
        for (int slot = 0; slot < kSlotCount && !found; ++slot)
          found = slot_weight(w.layers[l], slot).data &&
                  p.base == model::layer_tensor(static_cast<int>(l), slot_suffix(slot));
      if (!found)
        throw Error(ErrorKind::invalid_input,
                    "LoRA adapter: " + p.base +
                        " is not an adaptable weight of this model (attention and dense FFN "
                        "projections only)");
    }
  return blocks;
}

}  // namespace

LoraGradients LoraGradients::like(const LoraAdapter& adapter) {
  LoraGradients g;
  for (const LoraWeight& p : adapter.weights) {
    g.a.emplace_back(p.a.size(), 0.0f);
    g.b.emplace_back(p.b.size(), 0.0f);
  }
  return g;
}

void LoraGradients::zero() {
  for (auto& v : a) std::fill(v.begin(), v.end(), 0.0f);
  for (auto& v : b) std::fill(v.begin(), v.end(), 0.0f);
}

Network::Network(std::shared_ptr<const model::Model> model, kernels::MatmulOptions options)
    : model_(std::move(model)), options_(options) {
  // The blocks here are llama's (with qwen2's biases, phi3's fused projections and experts);
  // a family with q/k norms, post norms, another gate or a sliding window would train wrong.
  const std::string& arch = model_->hparams().arch;
  const model::ArchSpec* spec = model::find_arch(arch);
  if (model_->hparams().rope_freq_scale != 1)
    throw Error(ErrorKind::unsupported,
                "training a LoRA adapter on a model with linear RoPE scaling is not supported yet");
  if (spec == nullptr || !model::plain_llama_block(*spec)) {
    std::string trainable;
    for (const model::ArchSpec& a : model::architectures())
      if (model::plain_llama_block(a)) trainable += (trainable.empty() ? "" : ", ") + std::string(a.name);
    throw Error(ErrorKind::unsupported, "training a LoRA adapter on a " + arch +
                                            " model is not supported yet (the trainer runs " +
                                            trainable + ")");
  }
}

void Network::check(const LoraAdapter& adapter) const {
  bind(*model_, adapter, 1.0f, nullptr);
}

SequenceLoss Network::run(const LoraAdapter& adapter, float lora_scale, const Sequence& seq,
                          LoraGradients* grads) const {
  const model::Hparams& hp = model_->hparams();
  const model::ModelWeights& w = model_->weights();
  const auto T = static_cast<int64_t>(seq.tokens.size());
  const int64_t E = hp.n_embd;
  if (seq.mask.size() != seq.tokens.size())
    throw Error(ErrorKind::invalid_input, "a sequence's tokens and mask differ in length");
  for (int32_t token : seq.tokens)
    if (token < 0 || token >= w.token_embd.n_out)
      throw Error(ErrorKind::invalid_input, "token " + std::to_string(token) +
                                                " is outside the model's vocabulary of " +
                                                std::to_string(w.token_embd.n_out));
  // Position t predicts tokens[t+1] where mask[t+1] = 1.
  std::vector<int64_t> rows;
  std::vector<int> targets;
  for (int64_t t = 0; t + 1 < T; ++t)
    if (seq.mask[static_cast<size_t>(t + 1)]) {
      rows.push_back(t);
      targets.push_back(seq.tokens[static_cast<size_t>(t + 1)]);
    }
  SequenceLoss result;
  result.n_targets = static_cast<int64_t>(rows.size());
  if (rows.empty()) return result;

  const std::vector<BlockLora> lora = bind(*model_, adapter, lora_scale, grads);
  const ops::RopeTable rope = ops::rope_table(T, hp.head_dim, hp.rope_base, w.rope_freqs);
  // The run's buffers, kept per thread between calls: they keep their capacity from one sequence
  // to the next instead of being allocated (and page-faulted in) afresh every step.
  static thread_local RunBuffers b;
  b.x.resize(static_cast<size_t>(T * E));
  for (int64_t t = 0; t < T; ++t)
    kernels::dequantize_row(w.token_embd, seq.tokens[static_cast<size_t>(t)], &b.x[t * E]);
  const bool recompute = recompute_ && grads != nullptr;
  b.acts.resize(recompute ? 1 : w.layers.size());
  if (recompute) b.inputs.resize(w.layers.size());
  for (size_t l = 0; l < w.layers.size(); ++l) {
    if (recompute) b.inputs[l].assign(b.x.begin(), b.x.end());
    block_forward({hp, w.layers[l], lora[l], rope, options_, T}, b.x.data(),
                  b.acts[recompute ? 0 : l]);
  }

  // Only the target rows need logits: normalize, then project just those.
  b.rstd.resize(static_cast<size_t>(T));
  b.xf.resize(b.x.size());
  ops::rmsnorm_forward(b.x.data(), w.output_norm.data(), T, static_cast<int>(E), hp.rms_eps,
                       b.xf.data(), b.rstd.data());
  const auto N = static_cast<int64_t>(rows.size());
  const auto V = static_cast<int>(w.output.n_out);
  b.xs.resize(static_cast<size_t>(N * E));
  for (int64_t i = 0; i < N; ++i) std::copy_n(&b.xf[rows[i] * E], E, &b.xs[i * E]);
  b.logits.resize(static_cast<size_t>(N * V));
  linear_forward(w.output, nullptr, b.xs.data(), N, b.logits.data(), nullptr, options_);
  b.dlogits.resize(grads ? b.logits.size() : 0);
  result.loss =
      ops::cross_entropy(b.logits.data(), N, V, targets, grads ? b.dlogits.data() : nullptr);
  if (!grads) return result;

  // Backward: the output projection and final norm (frozen), then the blocks in reverse.
  b.dxs.assign(b.xs.size(), 0.0f);
  b.dxf.assign(b.x.size(), 0.0f);
  b.dx.assign(b.x.size(), 0.0f);
  linear_backward(w.output, nullptr, b.xs.data(), nullptr, b.dlogits.data(), N, b.dxs.data(),
                  options_);
  for (int64_t i = 0; i < N; ++i) std::copy_n(&b.dxs[i * E], E, &b.dxf[rows[i] * E]);
  ops::rmsnorm_backward(b.dxf.data(), b.x.data(), w.output_norm.data(), b.rstd.data(), T,
                        static_cast<int>(E), b.dx.data());
  for (size_t l = w.layers.size(); l-- > 0;) {
    const BlockContext c{hp, w.layers[l], lora[l], rope, options_, T};
    if (recompute) block_forward(c, b.inputs[l].data(), b.acts[0]);  // the input is spent
    block_backward(c, b.dx.data(), b.acts[recompute ? 0 : l]);
  }
  return result;
}

}  // namespace hearth::train
