// Multi-row dot kernels for AVX2 (TypeOps::vec_dot_multi, kernels.h): the AVX2 counterpart of
// simd_quant_multi_avx512.cpp, for Q4_0. Compiled with the AVX2 flags, installed with the other
// AVX2 kernels (simd_install.cpp); holds nothing but kernels and their helpers.
//
// Shared per block, for all rows: the nibbles as signed codes q − 8, the correction
// −128·Σ q per 4 values and the weight scale. Per row and block: one vpmaddubsw with the
// prepared activation bytes x + 128 (unsigned operand; pairs stay below 2^15: 2·255·8), one
// vpmaddwd to 4-value int32 sums, one add of the correction (exact: Σ (x + 128)·q − 128·Σ q),
// then convert, scale and FMA. Each row has its own accumulators and the same operation sequence
// whatever the row count, so its result is bit-identical for every N.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/blocks.h"

namespace hearth::kernels::avx2 {
namespace {

constexpr int kRows = 4;  // rows per pass: kMultiDotRows in kernels.h

using RowsKernel = void (*)(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out);

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The 32 nibbles of 16 bytes as bytes in value order: low nibbles (values 0..15), then high.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// One Q4_0 block's shared part: signed codes, correction, scale.
struct Block {
  __m256i q, c;
  __m256 s;
};

inline Block block(const block_q4_0& b) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i q = _mm256_sub_epi8(nibbles32(b.qs), _mm256_set1_epi8(8));
  const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(-128), q), ones);
  return {q, _mm256_sub_epi32(_mm256_setzero_si256(), sum), _mm256_set1_ps(_cvtsh_ss(b.d))};
}

// acc + (Σ x·q per 4 values) · (weight scale · activation scale), for prepared bytes xb.
inline __m256 row_block(const Block& b, const uint8_t* xb, const float* xs, __m256 acc) {
  const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(load256(xb), b.q), _mm256_set1_epi16(1));
  const __m256i d = _mm256_add_epi32(p, b.c);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(b.s, _mm256_loadu_ps(xs)), acc);
}

// Prepared row of n values: n bytes x ^ 0x80, then each block's scale as F32 ×8.
template <int N>
void q4_0_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const int64_t nb = n / QK4_0;
  const uint8_t* xq[N];
  const float* xs[N];
  for (int t = 0; t < N; ++t) {
    xq[t] = x + static_cast<size_t>(t) * stride;
    xs[t] = reinterpret_cast<const float*>(xq[t] + n);
  }
  __m256 acc0[N], acc1[N];
  for (int t = 0; t < N; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(a + i) + 3072, _MM_HINT_T0);
    const Block b0 = block(a[i]);
    const Block b1 = block(a[i + 1]);
    for (int t = 0; t < N; ++t) {
      acc0[t] = row_block(b0, xq[t] + i * 32, xs[t] + i * 8, acc0[t]);
      acc1[t] = row_block(b1, xq[t] + (i + 1) * 32, xs[t] + (i + 1) * 8, acc1[t]);
    }
  }
  if (i < nb) {
    const Block b0 = block(a[i]);
    for (int t = 0; t < N; ++t) acc0[t] = row_block(b0, xq[t] + i * 32, xs[t] + i * 8, acc0[t]);
  }
  for (int t = 0; t < N; ++t) out[t] = hsum8(_mm256_add_ps(acc0[t], acc1[t]));
}

inline void run_groups(const RowsKernel (&kernels)[kRows], int64_t n, const void* w, const void* x,
                       size_t stride, int nx, float* out) {
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < nx; t += kRows) {
    const int m = nx - t < kRows ? nx - t : kRows;
    kernels[m - 1](n, w, xb + static_cast<size_t>(t) * stride, stride, out + t);
  }
}

}  // namespace

size_t multi_row_bytes_q4_0(int64_t n) {
  return static_cast<size_t>(n) + static_cast<size_t>(n / QK8_0) * 8 * sizeof(float);
}

void multi_prepare_q4_0(const void* x, void* prepared, int64_t n) {
  const auto* b = static_cast<const block_q8_0*>(x);
  auto* q = static_cast<uint8_t*>(prepared);
  auto* s = reinterpret_cast<float*>(q + n);
  const __m256i flip = _mm256_set1_epi8(-128);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i * 32),
                        _mm256_xor_si256(load256(b[i].qs), flip));
    _mm256_storeu_ps(s + i * 8, _mm256_set1_ps(_cvtsh_ss(b[i].d)));
  }
}

void vec_dot_multi_q4_0(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q4_0_rows<1>, q4_0_rows<2>, q4_0_rows<3>, q4_0_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

}  // namespace hearth::kernels::avx2
