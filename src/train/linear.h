// A frozen base weight with an optional trainable LoRA update: y = W x + s·B(A x), where
// s = scale·alpha/r. W is never copied to F32 as a whole: the forward multiplies through the
// kernels (engine/kernels/matmul.h), the backward dequantizes a slab of W's rows at a time.
#pragma once

#include <cstdint>

#include "engine/kernels/matmul.h"

namespace hearth::train {

// Views of one adapted weight's factors and their gradient accumulators.
struct LoraBinding {
  const float* a = nullptr;  // rank rows of n_in
  const float* b = nullptr;  // n_out rows of rank
  float* grad_a = nullptr;   // same shapes; null when no gradient is wanted
  float* grad_b = nullptr;
  int64_t rank = 0;
  float scale = 0;  // s = scale · alpha / rank
};

// y (T×n_out) = W x (T×n_in) + s·B(A x). When lora is given, u (T×rank) receives A x, which
// backward needs.
void linear_forward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                    int64_t T, float* y, float* u, const kernels::MatmulOptions& options);

// From dy (T×n_out): dx += Wᵀdy + Aᵀ(s·Bᵀdy) when dx is given; for the factors
// grad_b += s·dyᵀu and grad_a += (s·Bᵀdy)ᵀx. Wᵀdy runs through the kernels' matrix products
// on transposed F32 slabs of W (results do not depend on the thread count).
void linear_backward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                     const float* u, const float* dy, int64_t T, float* dx,
                     const kernels::MatmulOptions& options);

}  // namespace hearth::train
