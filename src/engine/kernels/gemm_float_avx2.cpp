// AVX2 + FMA + F16C GEMM kernels for the float weight types (F32, F16, BF16): one job = up to
// kJobRows weight rows × all tokens (see gemm.h for the layout and gemm.cpp for the driver).
//
// The same shape as the AVX-512 job with 8-token vectors: per chunk of kKc K values the job's rows
// are converted to F32 into scratch ([row][kKc]), then the microkernel multiplies kMr rows × kNv
// token vectors with the accumulators in registers: 6 × 2 = 12 ymm accumulators, 2 activation
// vectors and 1 weight broadcast fit the 16 ymm registers AVX2 has. Partial sums live in the
// job's accumulator ([row][token], F32) between chunks, then are transposed into y.
//
// Compiled with -mavx2 -mfma -mf16c: only kernels here, called only after the CPU check
// (simd_tables.h rules). gemm.cpp sizes the scratch from the same constants (kept in step there).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/kernels.h"

namespace hearth::kernels::avx2 {
namespace {

constexpr int kJobRows = 48;  // gemm.cpp: kGemmJobRows
constexpr int kKc = 64;       // K values per chunk (weights [kJobRows][kKc] F32 = 12 KiB)
constexpr int kLanes = 8;     // tokens per token vector
constexpr int kMr = 6;
constexpr int kNv = 2;

// acc[r][v] (+)= Σ_k w[r][k] · xp[k][v] over kc values. w: rows of kKc floats; xp: one K value
// every xstride floats, 8 tokens per vector; acc: rows of acc_stride floats.
template <int R, int V>
void micro(const float* w, const float* xp, int64_t xstride, int kc, float* acc, int64_t acc_stride,
           bool first) {
  __m256 c[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      c[r][v] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + r * acc_stride + kLanes * v);
    }
  }
#pragma GCC unroll 1
  for (int k = 0; k < kc; ++k) {
    __m256 x[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) x[v] = _mm256_loadu_ps(xp + kLanes * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 b = _mm256_broadcast_ss(w + r * kKc + k);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) c[r][v] = _mm256_fmadd_ps(b, x[v], c[r][v]);
    }
    xp += xstride;
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) _mm256_storeu_ps(acc + r * acc_stride + kLanes * v, c[r][v]);
  }
}

using Micro = void (*)(const float*, const float*, int64_t, int, float*, int64_t, bool);

template <int R>
Micro micro_for(int v) {
  return v == 1 ? micro<R, 1> : micro<R, 2>;
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

inline float bf16_scalar(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Values [k0, k0 + kc) of one row as F32: 8 at a time, the last few (rows whose length is not a
// multiple of 8) one by one.
void unpack_row(TensorType type, const void* row, int64_t k0, int kc, float* out) {
  const int whole = kc & ~(kLanes - 1);
  if (type == TensorType::f16) {
    const uint16_t* h = static_cast<const uint16_t*>(row) + k0;
    for (int k = 0; k < whole; k += kLanes) {
      _mm256_storeu_ps(out + k,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + k))));
    }
    for (int k = whole; k < kc; ++k) out[k] = _cvtsh_ss(h[k]);
  } else if (type == TensorType::bf16) {
    const uint16_t* h = static_cast<const uint16_t*>(row) + k0;
    for (int k = 0; k < whole; k += kLanes) {
      const __m256i w =
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + k)));
      _mm256_storeu_ps(out + k, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
    }
    for (int k = whole; k < kc; ++k) out[k] = bf16_scalar(h[k]);
  } else {
    std::memcpy(out, static_cast<const float*>(row) + k0, static_cast<size_t>(kc) * sizeof(float));
  }
}

}  // namespace

// One job of the float GEMM: y[t][r] for r < rows (y points at column r0 of token 0; rows of
// n_out floats), every token. w: the job's first weight row; xp: activations as [k][n_tv][8]
// F32 (already rounded to the weight's vec_dot_type); scratch: kJobRows·kKc + kJobRows·n_tv·8
// floats.
void gemm_float_job(TensorType type, const void* w, size_t row_bytes, int64_t n_in, int64_t rows,
                    const float* xp, int64_t n_tv, float* y, int64_t n_out, int64_t n_tokens,
                    float* scratch) {
  float* wbuf = scratch;
  float* acc = scratch + kJobRows * kKc;
  const int64_t acc_stride = n_tv * kLanes;
  const auto* wbase = static_cast<const uint8_t*>(w);
  for (int64_t k0 = 0; k0 < n_in; k0 += kKc) {
    const int kc = static_cast<int>(n_in - k0 < kKc ? n_in - k0 : kKc);
    for (int64_t r = 0; r < rows; ++r) {
      unpack_row(type, wbase + static_cast<size_t>(r) * row_bytes, k0, kc, wbuf + r * kKc);
    }
    const bool first = k0 == 0;
    for (int64_t v0 = 0; v0 < n_tv; v0 += kNv) {
      const int nv = static_cast<int>(n_tv - v0 < kNv ? n_tv - v0 : kNv);
      for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
        const int nr = static_cast<int>(rows - r0 < kMr ? rows - r0 : kMr);
        micro_for(nr, nv)(wbuf + r0 * kKc, xp + (k0 * n_tv + v0) * kLanes, n_tv * kLanes, kc,
                          acc + r0 * acc_stride + v0 * kLanes, acc_stride, first);
      }
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) y[t * n_out + r] = acc[r * acc_stride + t];
  }
}

}  // namespace hearth::kernels::avx2
