// Parts of the CPU forward pass (forward.cpp): the products with the weights and their LoRA
// terms (Projector), biases and the feed-forward blocks. Shapes as forward.cpp: T tokens,
// E = n_embd, F = n_ff. Internal to the model folder.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/lora.h"
#include "engine/model/weights.h"

namespace hearth::model {

// Every product with a model weight: W x through the kernels, plus the LoRA terms bound to W
// (lora.h), each scale · B (A x) added in adapter order: first the context's, then each row's
// own sequence's. `one` (per row of x, may be null for no split) marks the rows computed with
// the one-token kernels for batch-invariant decoding (ContextOptions::batch_invariant), the
// others use the many-token ones. `row_lora` (per row, the bound adapters of its sequence or
// null) is null itself when no row's sequence has adapters, which costs nothing.
struct Projector {
  const kernels::MatmulOptions& o;
  const uint8_t* one;
  const LoraIndex& lora;
  const LoraIndex* const* row_lora = nullptr;

  void operator()(const WeightMatrix& w, const float* x, int64_t T, float* y) const;

  // Per set of sequence adapters: its rows gathered, A x then B (A x) over them (each row with
  // its own kernel kind, so a row's result depends on that row alone), scale · B (A x) added
  // back to those rows.
  void add_sequence_terms(const WeightMatrix& w, const float* x, int64_t T, float* y) const;

  // The same for a subset of the rows, whose kinds are `rows_one` (null: no split) and whose
  // sequence adapters are `rows_lora` (null: none).
  Projector rows(const uint8_t* rows_one, const LoraIndex* const* rows_lora) const {
    return {o, rows_one, lora, rows_lora};
  }
};

// Adds `bias` (n values) to each of T rows of `stride` floats starting at x.
void add_bias(float* x, const std::vector<float>& bias, int64_t T, int stride);

// Dense gated FFN: out (T×E) = down(act(gate·x) * (up·x)), act SiLU or GELU (tanh); GELU as
// llama.cpp's CPU backend computes it (an F16 table) when `gelu_table`.
void dense_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
               const Projector& project, bool gelu_table);

// Mixture of experts: softmax over all router logits, keep the top n_expert_used, renormalise
// their weights to sum 1, and sum the chosen experts' SwiGLU outputs weighted (in rank order).
void moe_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
             const Projector& project);

}  // namespace hearth::model
