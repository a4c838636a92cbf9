// llama family: LLaMA 1-3, Mistral, Mixtral (MoE when <arch>.expert_count > 0).
// Separate Q/K/V projections without biases; Llama 3.1+ files carry rope_freqs.weight, the
// per-pair divisors of the RoPE frequencies (head_dim/2 values).
#include "engine/model/arch.h"

namespace hearth::model {

void load_llama_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  load_separate_qkv(l, hp, il, w);
  if (hp.n_expert > 0) {
    load_moe_ffn(l, hp, il, w);
  } else {
    load_dense_ffn(l, hp, il, w);
  }
}

void load_llama_extras(const TensorLoader& l, const Hparams& hp, ModelWeights& w) {
  if (l.has("rope_freqs.weight")) w.rope_freqs = l.vector("rope_freqs.weight", hp.head_dim / 2);
}

}  // namespace hearth::model
