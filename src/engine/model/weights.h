// What a loaded model is made of: views of its weights (its shape, Hparams, is in arch.h).
//
// Shapes below use the GGML order of the file ([n_in, n_out] = n_out rows of n_in values).
// Weight matrices are views into the model file's read-only mapping; small vectors (norms,
// biases, RoPE factors) are copied out as F32 at load time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/arch.h"  // Hparams: the model's shape

namespace hearth::model {

using kernels::WeightMatrix;

// One transformer block. Which members are set depends on the architecture's row (arch.cpp):
// either wq/wk/wv or the fused wqkv; either the dense FFN or the MoE members; the q/k norms and
// the post norms where the family has them.
struct LayerWeights {
  std::vector<float> attn_norm;  // (n_embd)
  WeightMatrix wq;               // [n_embd, n_q_dim]
  WeightMatrix wk;               // [n_embd, n_kv_dim]
  WeightMatrix wv;               // [n_embd, n_kv_dim]
  WeightMatrix wqkv;             // [n_embd, n_q_dim + 2·n_kv_dim]: Q rows, K rows, V rows (phi3)
  std::vector<float> bq;         // (n_q_dim) or empty
  std::vector<float> bk;         // (n_kv_dim) or empty
  std::vector<float> bv;         // (n_kv_dim) or empty
  WeightMatrix wo;               // [n_q_dim, n_embd]
  std::vector<float> q_norm;     // (head_dim) RMSNorm of each q head before RoPE, or empty
  std::vector<float> k_norm;     // (head_dim) the same for k
  std::vector<float> attn_post_norm;  // (n_embd) RMSNorm of the attention output, or empty

  std::vector<float> ffn_norm;  // (n_embd)
  // Dense FFN: down(silu(gate·x) * (up·x)).
  WeightMatrix ffn_gate;  // [n_embd, n_ff]; unset when fused into ffn_up
  WeightMatrix ffn_up;    // [n_embd, n_ff], or [n_embd, 2·n_ff] gate rows first (phi3)
  WeightMatrix ffn_down;  // [n_ff, n_embd]
  bool gate_up_fused = false;
  bool gelu = false;                 // the gate's activation is GELU (tanh), else SiLU
  std::vector<float> ffn_post_norm;  // (n_embd) RMSNorm of the FFN output, or empty

  // Mixture of experts: softmax router over all experts, top n_expert_used renormalised.
  WeightMatrix ffn_router;                // [n_embd, n_expert]
  std::vector<WeightMatrix> expert_gate;  // n_expert × [n_embd, n_ff]
  std::vector<WeightMatrix> expert_up;    // n_expert × [n_embd, n_ff]
  std::vector<WeightMatrix> expert_down;  // n_expert × [n_ff, n_embd]

  bool is_moe() const { return !expert_down.empty(); }
};

struct ModelWeights {
  WeightMatrix token_embd;        // [n_embd, n_vocab]
  float embd_scale = 0;           // the looked-up rows are multiplied by it (gemma3: sqrt(n_embd)); 0: none
  std::vector<float> rope_freqs;  // (head_dim/2) divisors of each pair's frequency, or empty
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // (n_embd)
  WeightMatrix output;             // [n_embd, n_vocab]; token_embd when the file has none
};

}  // namespace hearth::model
