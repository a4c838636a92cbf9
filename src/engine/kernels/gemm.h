// Blocked matrix × many-token products (prompt processing): the n_tokens > 1 fast path of
// matmul(), same arithmetic as matmul()'s vec_dot loop (see matmul.h), much less memory traffic.
//
// What it computes: y[t][r] = Σ_c W[r][c] · x[t][c], with the activations converted exactly as
// the vec_dot path converts them (the set's from_float of the weights' vec_dot_type: F16 / BF16
// rounding, Q8_0, Q8_K), so every per-block integer sum equals the one vec_dot forms; only the
// F32 summation order of the scaled block sums differs (README §5: any order is acceptable).
//
// Layout (kernels in gemm_*_avx512.cpp and gemm_*_avx2.cpp, driver in gemm.cpp):
//   - tokens are the vector lanes: the converted activations of 16 tokens (AVX-512; 8 for AVX2)
//     are transposed once per call into "token vectors" (float: [k][16 tokens]; integer:
//     [k/4][16 tokens][4 codes] plus per-block scale / offset vectors), shared by all threads;
//     the token vectors one microkernel reads together are stored side by side, K after K
//     (gemm.cpp, Panel);
//   - weights are the broadcast side: each job takes a block of kGemmJobRows rows, and for every
//     chunk of K values unpacks those rows once (F16/BF16 -> F32; 4/5/6-bit codes -> bytes, block
//     scales -> F32) into a per-thread scratch, then runs a register-tiled microkernel over all
//     token vectors: float 6 rows × 4 token vectors (24 FMA accumulators), integer 6 rows × 2
//     token vectors (vpdpbusd into int32 per block, then one F32 scale per block); AVX2 with its
//     16 registers: float 6 × 2, integer 4 × 2 (vpmaddubsw + vpmaddwd, exact: see
//     gemm_quant_avx2.cpp);
//   - the jobs (row blocks) go to the pool; every output is computed by one job with the same
//     chunking whatever the thread count, so results do not depend on the number of threads.
// No weight repacking at load time: the unpacking is amortized over the tokens of the call.
#pragma once

#include <cstdint>

#include "engine/kernels/matmul.h"

namespace hearth::kernels {

// Fewer tokens than this use the vec_dot loop (a token vector holds 16 or 8 tokens; below a few
// tokens the unpacking is not repaid).
inline constexpr int64_t kGemmMinTokens = 4;

// True when gemm() handles this weight type with these options (kernel set and arithmetic).
bool gemm_supported(TensorType type, const MatmulOptions& options);

// y = W·x for n_tokens tokens (the matmul() contract). Requires gemm_supported(w.type, options).
void gemm(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
          const MatmulOptions& options);

}  // namespace hearth::kernels
