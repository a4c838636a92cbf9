// qwen2 family: llama's block with biases on the Q/K/V projections (added before RoPE) and
// NEOX-style RoPE (the arch table row).
#include "engine/model/arch.h"

namespace hearth::model {

void load_qwen2_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  load_separate_qkv(l, hp, il, w);
  load_qkv_biases(l, hp, il, w);
  load_dense_ffn(l, hp, il, w);
}

}  // namespace hearth::model
