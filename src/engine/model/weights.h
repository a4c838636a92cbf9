// What a loaded model is made of: hyperparameters and views of its weights.
//
// Shapes below use the GGML order of the file ([n_in, n_out] = n_out rows of n_in values).
// Weight matrices are views into the model file's read-only mapping; small vectors (norms,
// biases, RoPE factors) are copied out as F32 at load time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/kernels/matmul.h"

namespace hearth::model {

using kernels::WeightMatrix;

// How RoPE pairs the values of a head: llama rotates (x[2i], x[2i+1]); NEOX (qwen2, phi3)
// rotates (x[i], x[i + head_dim/2]).
enum class RopeStyle { normal, neox };

struct Hparams {
  std::string arch;         // general.architecture
  int n_vocab = 0;          // rows of token_embd
  int n_ctx_train = 0;      // <arch>.context_length
  int n_embd = 0;           // <arch>.embedding_length
  int n_layer = 0;          // <arch>.block_count
  int n_ff = 0;             // <arch>.feed_forward_length (per expert for MoE)
  int n_head = 0;           // <arch>.attention.head_count
  int n_head_kv = 0;        // <arch>.attention.head_count_kv (n_head when absent)
  int head_dim = 0;         // n_embd / n_head
  int n_expert = 0;         // <arch>.expert_count (0: dense FFN)
  int n_expert_used = 0;    // <arch>.expert_used_count
  float rms_eps = 1e-5f;    // <arch>.attention.layer_norm_rms_epsilon
  float rope_base = 10000;  // <arch>.rope.freq_base
  RopeStyle rope_style = RopeStyle::normal;

  int n_q_dim() const { return n_head * head_dim; }
  int n_kv_dim() const { return n_head_kv * head_dim; }
};

// One transformer block. Which members are set depends on the architecture (arch_*.cpp):
// either wq/wk/wv or the fused wqkv; either the dense FFN or the MoE members.
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

  std::vector<float> ffn_norm;  // (n_embd)
  // Dense FFN: down(silu(gate·x) * (up·x)).
  WeightMatrix ffn_gate;  // [n_embd, n_ff]; unset when fused into ffn_up
  WeightMatrix ffn_up;    // [n_embd, n_ff], or [n_embd, 2·n_ff] gate rows first (phi3)
  WeightMatrix ffn_down;  // [n_ff, n_embd]
  bool gate_up_fused = false;

  // Mixture of experts: softmax router over all experts, top n_expert_used renormalised.
  WeightMatrix ffn_router;                // [n_embd, n_expert]
  std::vector<WeightMatrix> expert_gate;  // n_expert × [n_embd, n_ff]
  std::vector<WeightMatrix> expert_up;    // n_expert × [n_embd, n_ff]
  std::vector<WeightMatrix> expert_down;  // n_expert × [n_ff, n_embd]

  bool is_moe() const { return !expert_down.empty(); }
};

struct ModelWeights {
  WeightMatrix token_embd;        // [n_embd, n_vocab]
  std::vector<float> rope_freqs;  // (head_dim/2) divisors of each pair's frequency, or empty
  std::vector<LayerWeights> layers;
  std::vector<float> output_norm;  // (n_embd)
  WeightMatrix output;             // [n_embd, n_vocab]; token_embd when the file has none
};

}  // namespace hearth::model
