// phi3 family: Q, K and V in one attn_qkv.weight (rows: Q, then K, then V), and the FFN's gate
// and up projections in one ffn_up.weight of 2·n_ff rows (gate rows first). NEOX-style RoPE.
#include "engine/model/arch.h"

namespace hearth::model {

void load_phi3_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w) {
  w.wqkv =
      l.matrix(layer_tensor(il, "attn_qkv.weight"), hp.n_embd, hp.n_q_dim() + 2 * hp.n_kv_dim());
  w.ffn_up = l.matrix(layer_tensor(il, "ffn_up.weight"), hp.n_embd, 2 * int64_t{hp.n_ff});
  w.ffn_down = l.matrix(layer_tensor(il, "ffn_down.weight"), hp.n_ff, hp.n_embd);
  w.gate_up_fused = true;
}

}  // namespace hearth::model
