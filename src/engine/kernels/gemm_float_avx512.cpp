// AVX-512 GEMM kernels for the float weight types (F32, F16, BF16): one job = up to kJobRows
// weight rows × all tokens (see gemm.h for the layout and gemm.cpp for the driver).
//
// Per chunk of kKc K values the job's rows are converted to F32 into scratch ([row][kKc]), then
// the microkernel multiplies kMr rows × kNv token vectors (16 tokens each) with the accumulators
// in registers: per K value, kNv vector loads of activations, kMr weight broadcasts, kMr·kNv FMAs.
// Partial sums live in the job's accumulator ([row][token], F32) between chunks; at the end
// they are transposed into y.
//
// Compiled with the AVX-512 flags: only kernels here, called only after the CPU check
// (simd_tables.h rules). gemm.cpp sizes the scratch from the same constants (kept in step there).
// GCC 12 reports the undefined pass-through operands of some AVX-512 intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/kernels.h"

namespace hearth::kernels::avx512 {
namespace {

constexpr int kJobRows = 48;  // gemm.cpp: kGemmJobRows
constexpr int kKc = 128;      // K values per chunk (weights [kJobRows][kKc] F32 = 24 KiB)
constexpr int kMr = 6;
constexpr int kNv = 4;

// acc[r][v] (+)= Σ_k w[r][k] · xp[k][v] over kc values. w: rows of kKc floats; xp: one K value
// every xstride floats, 16 tokens per vector; acc: rows of acc_stride floats.
template <int R, int V>
void micro(const float* w, const float* xp, int64_t xstride, int kc, float* acc,
           int64_t acc_stride, bool first) {
  __m512 c[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) {
      c[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + r * acc_stride + 16 * v);
    }
  }
  for (int k = 0; k < kc; ++k) {
    __m512 x[V];
    for (int v = 0; v < V; ++v) x[v] = _mm512_loadu_ps(xp + 16 * v);
    for (int r = 0; r < R; ++r) {
      const __m512 b = _mm512_set1_ps(w[r * kKc + k]);
      for (int v = 0; v < V; ++v) c[r][v] = _mm512_fmadd_ps(b, x[v], c[r][v]);
    }
    xp += xstride;
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(acc + r * acc_stride + 16 * v, c[r][v]);
  }
}

using Micro = void (*)(const float*, const float*, int64_t, int, float*, int64_t, bool);

template <int R>
Micro micro_for(int v) {
  switch (v) {
    case 1:
      return micro<R, 1>;
    case 2:
      return micro<R, 2>;
    case 3:
      return micro<R, 3>;
    default:
      return micro<R, 4>;
  }
}

Micro micro_for(int r, int v) {
  switch (r) {
    case 1:
      return micro_for<1>(v);
    case 2:
      return micro_for<2>(v);
    case 3:
      return micro_for<3>(v);
    case 4:
      return micro_for<4>(v);
    case 5:
      return micro_for<5>(v);
    default:
      return micro_for<6>(v);
  }
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

// Values [k0, k0 + kc) of one row as F32.
void unpack_row(TensorType type, const void* row, int64_t k0, int kc, float* out) {
  for (int k = 0; k < kc; k += 16) {
    const __mmask16 m = tail_mask(kc - k);
    __m512 v;
    if (type == TensorType::f16) {
      v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + k0 + k));
    } else if (type == TensorType::bf16) {
      const __m512i h = _mm512_cvtepu16_epi32(
          _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(row) + k0 + k));
      v = _mm512_castsi512_ps(_mm512_slli_epi32(h, 16));
    } else {
      v = _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + k0 + k);
    }
    _mm512_mask_storeu_ps(out + k, m, v);
  }
}

}  // namespace

// One job of the float GEMM: y[t][r] for r < rows (y points at column r0 of token 0; rows of
// n_out floats), every token. w: the job's first weight row; xp: activations as [k][n_tv][16]
// F32 (already rounded to the weight's vec_dot_type); scratch: kJobRows·kKc + kJobRows·n_tv·16
// floats.
void gemm_float_job(TensorType type, const void* w, size_t row_bytes, int64_t n_in, int64_t rows,
                    const float* xp, int64_t n_tv, float* y, int64_t n_out, int64_t n_tokens,
                    float* scratch) {
  float* wbuf = scratch;
  float* acc = scratch + kJobRows * kKc;
  const int64_t acc_stride = n_tv * 16;
  const auto* wbase = static_cast<const uint8_t*>(w);
  for (int64_t k0 = 0; k0 < n_in; k0 += kKc) {
    const int kc = static_cast<int>(n_in - k0 < kKc ? n_in - k0 : kKc);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = wbase + static_cast<size_t>(r) * row_bytes;
      unpack_row(type, row, k0, kc, wbuf + r * kKc);
      // The row's next chunk is fetched while the microkernels work on this one (48 rows far
      // apart in memory are more streams than the hardware prefetcher follows).
      if (k0 + kKc < n_in) {
        const size_t elem = type == TensorType::f32 ? sizeof(float) : sizeof(uint16_t);
        const uint8_t* next = row + static_cast<size_t>(k0 + kKc) * elem;
        for (size_t b = 0; b < kKc * elem; b += 64)
          _mm_prefetch(reinterpret_cast<const char*>(next + b), _MM_HINT_T0);
      }
    }
    const bool first = k0 == 0;
    for (int64_t v0 = 0; v0 < n_tv; v0 += kNv) {
      const int nv = static_cast<int>(n_tv - v0 < kNv ? n_tv - v0 : kNv);
      for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
        const int nr = static_cast<int>(rows - r0 < kMr ? rows - r0 : kMr);
        micro_for(nr, nv)(wbuf + r0 * kKc, xp + (k0 * n_tv + v0) * 16, n_tv * 16, kc,
                          acc + r0 * acc_stride + v0 * 16, acc_stride, first);
      }
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) y[t * n_out + r] = acc[r * acc_stride + t];
  }
}

}  // namespace hearth::kernels::avx512
