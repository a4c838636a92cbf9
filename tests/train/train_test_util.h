// What the trainer's tests share.
#pragma once

#include "engine/kernels/matmul.h"

namespace hearth::train::test {

// Plain F32 products with exact dequantization: the arithmetic the conformance trajectories and
// the gradient checks are measured in.
inline kernels::MatmulOptions exact_options() {
  kernels::MatmulOptions options;
  options.kernels = kernels::KernelSet::reference;
  options.arithmetic = kernels::Arithmetic::exact_f32;
  return options;
}

}  // namespace hearth::train::test
