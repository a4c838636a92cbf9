// The base model as a function of its LoRA adapter: the forward pass of one sequence in F32,
// keeping what the backward pass needs, and the backward pass with the base frozen, which
// accumulates the gradients of every LoRA factor.
//
// One sequence, positions 0..T-1 from a fresh context (no KV cache): every layer runs over all T
// tokens at once. Activations kept per layer (T rows each): the block's input, its two normed
// inputs and RMS scales, Q/K/V after bias and RoPE, the attention's output and log-sum-exps, the
// FFN's gate/up values and SwiGLU output, and each adapted weight's A x. Attention
// probabilities are recomputed in the backward pass from Q and K (no T×T buffer per head).
// These buffers belong to the calling thread and are reused by its next run (a step allocates
// nothing once the longest sequence has been seen); they are freed when the thread ends.
//
// The frozen base stays in the model file's mapping, in whatever type it is stored (forward
// through the kernels, backward one dequantized row at a time). With options from
// kernels::default_matmul_options() the arithmetic is plain F32 with exact dequantization under
// HEARTH_KERNELS=reference (the conformance mode); otherwise the forward's matrix products use
// the SIMD kernels with quantized activations.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/model.h"
#include "train/adapter_file.h"

namespace hearth::train {

// Gradients of an adapter's factors, index for index with LoraAdapter::weights.
struct LoraGradients {
  std::vector<std::vector<float>> a, b;

  // Zeroed gradients shaped like `adapter`.
  static LoraGradients like(const LoraAdapter& adapter);
  void zero();
};

// One sequence: its tokens and, per token, whether it is a target. Position t predicts
// tokens[t+1] where mask[t+1] = 1.
struct Sequence {
  std::span<const int32_t> tokens;
  std::span<const uint8_t> mask;
};

struct SequenceLoss {
  double loss = 0;  // mean over the targets of −log p(target) (0 without targets)
  int64_t n_targets = 0;
};

class Network {
 public:
  Network(std::shared_ptr<const model::Model> model, kernels::MatmulOptions options);

  // Checks that every pair of `adapter` names an adaptable weight of the model (a projection
  // of a block's attention or dense FFN) with its shape. Error(invalid_input) naming the tensor.
  void check(const LoraAdapter& adapter) const;

  // Forward pass of one sequence with the adapter applied at lora_scale (every adapted weight
  // computes W x + lora_scale·(alpha/r)·B(A x)); with `grads`, also the backward pass, adding
  // d(loss)/d(factor) into grads. Error(invalid_input) for a token outside the vocabulary or
  // tokens and mask of different lengths.
  SequenceLoss run(const LoraAdapter& adapter, float lora_scale, const Sequence& sequence,
                   LoraGradients* grads) const;

  const model::Model& model() const { return *model_; }

  // Recomputing activations: keep only each block's input during the forward pass and compute
  // the block's activations again just before its backward pass (one block's at a time), for
  // about a third more arithmetic and a fraction of the memory (plan.h). Same results either way.
  void set_recompute(bool on) { recompute_ = on; }
  bool recompute() const { return recompute_; }

 private:
  std::shared_ptr<const model::Model> model_;
  kernels::MatmulOptions options_;
  bool recompute_ = false;
};

}  // namespace hearth::train
