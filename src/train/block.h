// One transformer block's forward and backward for training (internal to network.cpp):
//   x += attn(rmsnorm(x)·attn_norm);  x += ffn(rmsnorm(x)·ffn_norm)
// with the LoRA updates of the block's adapted projections.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/model/weights.h"
#include "train/linear.h"
#include "train/ops.h"

namespace hearth::train {

// The projections of a block that an adapter may adapt. On fused layouts q/k/v live in kQkv
// and gate/up in kUp (2·n_ff rows, gate rows first).
enum Slot : int { kQ, kK, kV, kQkv, kO, kGate, kUp, kDown, kSlotCount };

// The tensor name suffix of a slot ("attn_q.weight", ...), as in engine/model/arch.h.
std::string_view slot_suffix(int slot);
// The slot's weight in `w` (data == nullptr when the block does not have it).
const kernels::WeightMatrix& slot_weight(const model::LayerWeights& w, int slot);

// A block's adapted slots: lora[slot].a == nullptr where the slot is not adapted.
using BlockLora = std::array<LoraBinding, kSlotCount>;

// The mixture-of-experts FFN's activations: per token its chosen experts, their mixing
// weights, and each chosen expert's gate/up/SwiGLU/output rows.
struct MoeActs {
  std::vector<float> probs;     // T×n_expert router softmax
  std::vector<int> chosen;      // T×n_used expert ids
  std::vector<float> weights;   // T×n_used renormalized mixing weights
  std::vector<float> gate, up;  // (T·n_used)×n_ff
  std::vector<float> act;       // (T·n_used)×n_ff
  std::vector<float> out;       // (T·n_used)×n_embd, each expert's output before mixing
};

struct LayerActs {
  std::vector<float> x_in, rstd_attn, xn_attn;  // block input, its RMS scale and normed rows
  std::vector<float> q, k, v;                   // after bias and RoPE
  std::vector<float> lse, att;                  // attention log-sum-exps and output
  std::vector<float> x_mid, rstd_ffn, xn_ffn;   // after attention; the FFN's normed input
  std::vector<float> gate, up, act;             // dense FFN
  MoeActs moe;
  std::array<std::vector<float>, kSlotCount> lora_u;  // A x of each adapted slot
};

struct BlockContext {
  const model::Hparams& hp;
  const model::LayerWeights& w;
  const BlockLora& lora;
  const ops::RopeTable& rope;
  const kernels::MatmulOptions& options;
  int64_t T;
};

// x (T×n_embd) in, the block's output out, in place; fills acts.
void block_forward(const BlockContext& c, float* x, LayerActs& acts);
// dx: the gradient of the block's output in, of its input out (in place); adds to the LoRA
// gradients of c.lora.
void block_backward(const BlockContext& c, float* dx, const LayerActs& acts);

// The mixture-of-experts FFN (moe.cpp): out (T×n_embd) from the normed input xn; the router
// and experts are frozen, the gradient flows through both into dxn (added).
void moe_forward(const BlockContext& c, const float* xn, float* out, MoeActs& acts);
void moe_backward(const BlockContext& c, const float* xn, const float* dout, const MoeActs& acts,
                  float* dxn);

}  // namespace hearth::train
