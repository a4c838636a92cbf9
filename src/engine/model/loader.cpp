#include "engine/model/loader.h"

#include <cmath>

#include "core/error.h"
#include "engine/kernels/kernels.h"

namespace hearth::model {

namespace {

std::string shape_text(const std::vector<int64_t>& ne) {
  std::string s = "[";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

const gguf::TensorInfo& TensorLoader::require(std::string_view name,
                                              const std::vector<int64_t>& ne) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (t == nullptr)
    throw Error(ErrorKind::corrupt_file, file_.name() + ": tensor '" + std::string(name) +
                                             "' is missing (architecture " + arch_ +
                                             " needs it with shape " + shape_text(ne) + ")");
  if (t->ne != ne)
    throw Error(ErrorKind::corrupt_file, file_.name() + ": tensor '" + std::string(name) +
                                             "' has shape " + shape_text(t->ne) + ", expected " +
                                             shape_text(ne));
  const kernels::TypeOps* ops = kernels::type_ops(t->type, kernels::KernelSet::reference);
  if (ops == nullptr || ops->to_float == nullptr)
    throw Error(ErrorKind::unsupported, file_.name() + ": tensor '" + std::string(name) +
                                            "' has type " +
                                            std::string(gguf::tensor_type_name(t->type)) +
                                            ", which hearth cannot compute with yet");
  return *t;
}

WeightMatrix TensorLoader::matrix(std::string_view name, int64_t n_in, int64_t n_out) const {
  const gguf::TensorInfo& t = require(name, {n_in, n_out});
  return WeightMatrix{t.type, data(t), n_in, n_out};
}

std::vector<WeightMatrix> TensorLoader::matrix_stack(std::string_view name, int64_t n_in,
                                                     int64_t n_out, int64_t n_slices) const {
  const gguf::TensorInfo& t = require(name, {n_in, n_out, n_slices});
  const size_t slice_bytes = kernels::row_bytes(t.type, n_in) * static_cast<size_t>(n_out);
  std::vector<WeightMatrix> out;
  for (int64_t s = 0; s < n_slices; ++s)
    out.push_back(WeightMatrix{t.type, data(t) + s * slice_bytes, n_in, n_out});
  return out;
}

std::vector<float> TensorLoader::vector(std::string_view name, int64_t n) const {
  const gguf::TensorInfo& t = require(name, {n});
  std::vector<float> out(static_cast<size_t>(n));
  kernels::dequantize_row(WeightMatrix{t.type, data(t), n, 1}, 0, out.data());
  return out;
}

namespace {

namespace t = tensors;

void load_layer(const TensorLoader& l, const ArchSpec& spec, const Hparams& hp, int il,
                LayerWeights& w) {
  auto name = [il](std::string_view suffix) { return layer_tensor(il, suffix); };
  w.attn_norm = l.vector(name(t::kAttnNorm), hp.n_embd);
  w.wo = l.matrix(name(t::kAttnOutput), hp.n_q_dim(), hp.n_embd);
  w.ffn_norm = l.vector(name(t::kFfnNorm), hp.n_embd);

  if (spec.qkv == QkvLayout::fused) {
    w.wqkv = l.matrix(name(t::kAttnQkv), hp.n_embd, hp.n_q_dim() + 2 * hp.n_kv_dim());
  } else {
    w.wq = l.matrix(name(t::kAttnQ), hp.n_embd, hp.n_q_dim());
    w.wk = l.matrix(name(t::kAttnK), hp.n_embd, hp.n_kv_dim());
    w.wv = l.matrix(name(t::kAttnV), hp.n_embd, hp.n_kv_dim());
  }
  if (spec.qk_norm) {
    w.q_norm = l.vector(name(t::kAttnQNorm), hp.head_dim);
    w.k_norm = l.vector(name(t::kAttnKNorm), hp.head_dim);
  }
  if (spec.post_norms) {
    w.attn_post_norm = l.vector(name(t::kAttnPostNorm), hp.n_embd);
    w.ffn_post_norm = l.vector(name(t::kFfnPostNorm), hp.n_embd);
  }
  w.gelu = spec.act == FfnActivation::gelu_tanh;
  if (spec.qkv_bias) {
    w.bq = l.vector(name(t::kAttnQBias), hp.n_q_dim());
    w.bk = l.vector(name(t::kAttnKBias), hp.n_kv_dim());
    w.bv = l.vector(name(t::kAttnVBias), hp.n_kv_dim());
  }

  if (spec.experts && hp.n_expert > 0) {
    w.ffn_router = l.matrix(name(t::kFfnRouter), hp.n_embd, hp.n_expert);
    w.expert_gate = l.matrix_stack(name(t::kFfnGateExperts), hp.n_embd, hp.n_ff, hp.n_expert);
    w.expert_up = l.matrix_stack(name(t::kFfnUpExperts), hp.n_embd, hp.n_ff, hp.n_expert);
    w.expert_down = l.matrix_stack(name(t::kFfnDownExperts), hp.n_ff, hp.n_embd, hp.n_expert);
  } else if (spec.ffn == FfnLayout::fused_gate_up) {
    w.ffn_up = l.matrix(name(t::kFfnUp), hp.n_embd, 2 * int64_t{hp.n_ff});
    w.ffn_down = l.matrix(name(t::kFfnDown), hp.n_ff, hp.n_embd);
    w.gate_up_fused = true;
  } else {
    w.ffn_gate = l.matrix(name(t::kFfnGate), hp.n_embd, hp.n_ff);
    w.ffn_up = l.matrix(name(t::kFfnUp), hp.n_embd, hp.n_ff);
    w.ffn_down = l.matrix(name(t::kFfnDown), hp.n_ff, hp.n_embd);
  }
}

}  // namespace

void load_weights(const TensorLoader& l, const ArchSpec& spec, const Hparams& hp,
                  ModelWeights& w) {
  w.token_embd = l.matrix(t::kTokenEmbd, hp.n_embd, hp.n_vocab);
  if (spec.embd_scale) w.embd_scale = std::sqrt(static_cast<float>(hp.n_embd));
  w.output_norm = l.vector(t::kOutputNorm, hp.n_embd);
  w.output = l.has(t::kOutput) ? l.matrix(t::kOutput, hp.n_embd, hp.n_vocab) : w.token_embd;
  if (spec.rope_freqs && l.has(t::kRopeFreqs))
    w.rope_freqs = l.vector(t::kRopeFreqs, hp.head_dim / 2);

  w.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il)
    load_layer(l, spec, hp, il, w.layers[static_cast<size_t>(il)]);
}

}  // namespace hearth::model
