#include "engine/model/loader.h"

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

std::string layer_tensor(int layer, std::string_view suffix) {
  return "blk." + std::to_string(layer) + "." + std::string(suffix);
}

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

void load_separate_qkv(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  w.wq = l.matrix(layer_tensor(il, "attn_q.weight"), hp.n_embd, hp.n_q_dim());
  w.wk = l.matrix(layer_tensor(il, "attn_k.weight"), hp.n_embd, hp.n_kv_dim());
  w.wv = l.matrix(layer_tensor(il, "attn_v.weight"), hp.n_embd, hp.n_kv_dim());
}

void load_qkv_biases(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  w.bq = l.vector(layer_tensor(il, "attn_q.bias"), hp.n_q_dim());
  w.bk = l.vector(layer_tensor(il, "attn_k.bias"), hp.n_kv_dim());
  w.bv = l.vector(layer_tensor(il, "attn_v.bias"), hp.n_kv_dim());
}

void load_dense_ffn(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  w.ffn_gate = l.matrix(layer_tensor(il, "ffn_gate.weight"), hp.n_embd, hp.n_ff);
  w.ffn_up = l.matrix(layer_tensor(il, "ffn_up.weight"), hp.n_embd, hp.n_ff);
  w.ffn_down = l.matrix(layer_tensor(il, "ffn_down.weight"), hp.n_ff, hp.n_embd);
}

void load_moe_ffn(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  w.ffn_router = l.matrix(layer_tensor(il, "ffn_gate_inp.weight"), hp.n_embd, hp.n_expert);
  w.expert_gate =
      l.matrix_stack(layer_tensor(il, "ffn_gate_exps.weight"), hp.n_embd, hp.n_ff, hp.n_expert);
  w.expert_up =
      l.matrix_stack(layer_tensor(il, "ffn_up_exps.weight"), hp.n_embd, hp.n_ff, hp.n_expert);
  w.expert_down =
      l.matrix_stack(layer_tensor(il, "ffn_down_exps.weight"), hp.n_ff, hp.n_embd, hp.n_expert);
}

}  // namespace hearth::model
