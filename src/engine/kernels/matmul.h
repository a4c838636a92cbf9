// Matrix products with weight matrices, the bulk of a model's work.
//
// A weight matrix with GGML shape [n_in, n_out] is n_out rows of n_in values in its tensor type;
// for every token t: y[t][r] = Σ_c W[r][c] · x[t][c]. x and y are row-major F32
// (n_tokens × n_in and n_tokens × n_out).
//
// Two kinds of arithmetic, matching the two conformance references:
//   exact_f32              weights dequantized exactly, F32 activations (".dequant-f32" refs)
//   quantized_activations  activations converted once per token to the type's vec_dot_type
//                          (F16, Q8_0, Q8_1, Q8_K), then vec_dot (".ref.json" refs; the fast path)
// Rows are spread over the pool's threads; pool may be null (single thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"
#include "engine/kernels/kernels.h"

namespace hearth::kernels {

enum class Arithmetic { exact_f32, quantized_activations };

struct WeightMatrix {
  TensorType type = TensorType::f32;
  const void* data = nullptr;  // n_out rows of row_bytes(type, n_in)
  int64_t n_in = 0;
  int64_t n_out = 0;
};

struct MatmulOptions {
  KernelSet kernels = KernelSet::reference;
  Arithmetic arithmetic = Arithmetic::exact_f32;
  ThreadPool* pool = nullptr;
  // Which of the two ways every output row is computed (they sum in different orders, so
  // their results differ in the last bits): by_size uses the GEMM from kGemmMinTokens tokens
  // on where the type has one; one_token never uses it, many_tokens always does (where the type
  // has one). With one_token or many_tokens a row's result does not depend on n_tokens or on
  // the other rows, which batch-invariant decoding relies on (ContextOptions::batch_invariant).
  enum class Path { by_size, one_token, many_tokens };
  Path path = Path::by_size;
};

// The options the engine uses unless told otherwise: HEARTH_KERNELS=reference gives the scalar
// kernels with exact_f32; anything else the active SIMD set with quantized_activations.
MatmulOptions default_matmul_options(ThreadPool* pool);

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            const MatmulOptions& options);

// Row `row` of the matrix dequantized into out[n_in] (embedding lookups).
void dequantize_row(const WeightMatrix& w, int64_t row, float* out);

}  // namespace hearth::kernels
