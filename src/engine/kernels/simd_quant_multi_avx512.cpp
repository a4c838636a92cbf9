// Multi-row dot kernels for AVX-512 VNNI (TypeOps::vec_dot_multi, kernels.h): one weight row
// against up to kRows activation rows per pass, for the one-token matmul path of several
// sequences decoding together. Installed with the other VNNI kernels (simd_install.cpp);
// compiled with the AVX-512 flags, so this file holds nothing but kernels and their helpers.
//
// What is shared and what is per row. The weight side (loading, nibble / bit unpacking, signed
// codes, weight scales, and the offset correction below) is done once per block for all rows;
// per row and per 64 values only one vpdpbusd (or vpmaddubsw + vpdpwssd for Q6_K) with its
// activation bytes straight from memory, and per block group one scale multiply and one FMA.
//
// The activation rows are prepared once per matmul call (multi_prepare) into an unsigned form:
// bytes x + 128 (x ^ 0x80), so the weights can stay the signed operand of vpdpbusd /
// vpmaddubsw, and Σ (x + 128)·w − 128·Σ w = Σ x·w exactly; 128·Σ w depends on the weights only.
// Block scales are stored as F32 (Q8_0: repeated 8 times, the spread the FMAs need).
//
// Bit-identical results for every row count: each row has its own accumulators, and its float
// operations (scale products, FMAs, final reductions) are the same sequence whatever N is; the
// integer sums are exact. Q4_0 and Q8_0 also follow vec_dot's float sequence exactly, so with
// one row they give the same bits as the single-row kernels of simd_quant_avx512.cpp.
// GCC 12 at -O3 reports the undefined pass-through operands of some AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/blocks.h"
#include "engine/kernels/simd_blocks_avx512.h"

namespace hearth::kernels::avx512 {
namespace {

constexpr int kRows = 4;  // rows per pass: kMultiDotRows in kernels.h

using RowsKernel = void (*)(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out);

inline float f16_value(uint16_t h) {
  return _cvtsh_ss(h);
}

// Weight bytes are read once, straight from memory: prefetch well ahead (as the single-row
// kernels do; see kPrefetchBytes in simd_quant_avx2.cpp).
template <int lines>
inline void prefetch_weights(const void* p) {
  for (int l = 0; l < lines; ++l)
    _mm_prefetch(static_cast<const char*>(p) + 3072 + 64 * l, _MM_HINT_T0);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// The same reduction as hsum8 in simd_quant_avx2.cpp (the single-row kernels' tail sum).
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The 32 nibbles of 16 bytes as bytes in value order: low nibbles, then high.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// −128·Σ w per group of 4 signed bytes: the start value that turns Σ (x + 128)·w into Σ x·w.
inline __m512i minus128_sum(__m512i w) {
  const __m512i zero = _mm512_setzero_si512();
  return _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(-128), w));
}
inline __m256i minus128_sum(__m256i w) {
  const __m256i zero = _mm256_setzero_si256();
  return _mm256_sub_epi32(zero, _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(-128), w));
}

// Runs the N-row instances over nx rows in groups of up to kRows.
inline void run_groups(const RowsKernel (&kernels)[kRows], int64_t n, const void* w,
                       const void* x, size_t stride, int nx, float* out) {
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < nx; t += kRows) {
    const int m = nx - t < kRows ? nx - t : kRows;
    kernels[m - 1](n, w, xb + static_cast<size_t>(t) * stride, stride, out + t);
  }
}

// ---- Q4_0 and Q8_0 weights against prepared Q8_0 rows ----
// Prepared row of n values: n bytes x ^ 0x80, then each block's scale as F32 ×8.

// The weight codes of 4 blocks (two vectors of 64 signed bytes), their start values, and their
// scales spread (two vectors of 2 × 8 floats), computed once per 4 blocks for all rows.
struct Weights4 {
  __m512i q01, q23, c01, c23;
  __m512 s01, s23;
};

// The N rows' share of 4 blocks (value offset v, block index i in the prepared rows).
template <int N>
inline void rows4(const Weights4& wt, const uint8_t* const* xq, const float* const* xs, int64_t i,
                  __m512* acc0, __m512* acc1) {
  for (int t = 0; t < N; ++t) {
    const uint8_t* xb = xq[t] + i * 32;
    const float* sb = xs[t] + i * 8;
    const __m512i d01 = _mm512_dpbusd_epi32(wt.c01, _mm512_loadu_si512(xb), wt.q01);
    const __m512i d23 = _mm512_dpbusd_epi32(wt.c23, _mm512_loadu_si512(xb + 64), wt.q23);
    acc0[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), _mm512_mul_ps(wt.s01, _mm512_loadu_ps(sb)),
                              acc0[t]);
    acc1[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23),
                              _mm512_mul_ps(wt.s23, _mm512_loadu_ps(sb + 16)), acc1[t]);
  }
}

// One leftover block: 32 signed codes q with weight scale wd.
template <int N>
inline void rows1(__m256i q, float wd, const uint8_t* const* xq, const float* const* xs, int64_t i,
                  __m256* tail) {
  const __m256i c = minus128_sum(q);
  for (int t = 0; t < N; ++t) {
    const __m256i d = _mm256_dpbusd_epi32(c, load256(xq[t] + i * 32), q);
    tail[t] = _mm256_fmadd_ps(_mm256_set1_ps(wd * xs[t][i * 8]), _mm256_cvtepi32_ps(d), tail[t]);
  }
}

template <int N>
inline void q8_0_row_pointers(const uint8_t* x, size_t stride, int64_t n, const uint8_t** xq,
                              const float** xs) {
  for (int t = 0; t < N; ++t) {
    xq[t] = x + static_cast<size_t>(t) * stride;
    xs[t] = reinterpret_cast<const float*>(xq[t] + n);
  }
}

template <int N>
void q4_0_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const int64_t nb = n / QK4_0;
  const uint8_t* xq[N];
  const float* xs[N];
  q8_0_row_pointers<N>(x, stride, n, xq, xs);
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 acc0[N], acc1[N];
  __m256 tail[N];
  for (int t = 0; t < N; ++t) {
    acc0[t] = acc1[t] = _mm512_setzero_ps();
    tail[t] = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_weights<2>(a + i);
    Weights4 wt;
    spread4(scales4_near<9>(a + i), wt.s01, wt.s23);
    wt.q01 = _mm512_sub_epi8(nibbles64(a[i].qs, a[i + 1].qs), eight);
    wt.q23 = _mm512_sub_epi8(nibbles64(a[i + 2].qs, a[i + 3].qs), eight);
    wt.c01 = minus128_sum(wt.q01);
    wt.c23 = minus128_sum(wt.q23);
    rows4<N>(wt, xq, xs, i, acc0, acc1);
  }
  for (; i < nb; ++i) {
    const __m256i q = _mm256_sub_epi8(nibbles32(a[i].qs), _mm256_set1_epi8(8));
    rows1<N>(q, f16_value(a[i].d), xq, xs, i, tail);
  }
  for (int t = 0; t < N; ++t)
    out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t])) + hsum8(tail[t]);
}

// The 64 int8 of two 32-byte arrays.
inline __m512i bytes64(const int8_t* q0, const int8_t* q1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(q0)), load256(q1), 1);
}

template <int N>
void q8_0_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q8_0*>(w);
  const int64_t nb = n / QK8_0;
  const uint8_t* xq[N];
  const float* xs[N];
  q8_0_row_pointers<N>(x, stride, n, xq, xs);
  __m512 acc0[N], acc1[N];
  __m256 tail[N];
  for (int t = 0; t < N; ++t) {
    acc0[t] = acc1[t] = _mm512_setzero_ps();
    tail[t] = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_weights<3>(a + i);
    Weights4 wt;
    spread4(field4<17, 0>(a + i), wt.s01, wt.s23);
    wt.q01 = bytes64(a[i].qs, a[i + 1].qs);
    wt.q23 = bytes64(a[i + 2].qs, a[i + 3].qs);
    wt.c01 = minus128_sum(wt.q01);
    wt.c23 = minus128_sum(wt.q23);
    rows4<N>(wt, xq, xs, i, acc0, acc1);
  }
  for (; i < nb; ++i) rows1<N>(load256(a[i].qs), f16_value(a[i].d), xq, xs, i, tail);
  for (int t = 0; t < N; ++t)
    out[t] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[t], acc1[t])) + hsum8(tail[t]);
}

// ---- Q6_K weights against prepared Q8_K rows ----
// Prepared row of n values: n bytes x ^ 0x80, then each super-block's d (F32).
//
// The 256 codes are unpacked in value order as four vectors of 64 signed bytes (q − 32), each
// against 64 activation bytes: vpmaddubsw (pairs, no saturation: 2·255·32 < 2^15), then
// vpdpwssd with the pairs' 16-value scales.

template <int N>
void q6_k_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q6_K*>(w);
  const int64_t nb = n / QK_K;
  const uint8_t* xq[N];
  const float* xd[N];
  for (int t = 0; t < N; ++t) {
    xq[t] = x + static_cast<size_t>(t) * stride;
    xd[t] = reinterpret_cast<const float*>(xq[t] + n);
  }
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  const __m512i k32 = _mm512_set1_epi8(32);
  const __m512i k128 = _mm512_set1_epi8(-128);  // 128 as the unsigned operand
  // Top-bit shifts: values 0..31 / 32..63 of a half take qh bits 0-1 / 2-3 (left by 4 / 2 to
  // bits 4-5), values 64..95 / 96..127 bits 4-5 / 6-7 (right by 0 / 2).
  const __m512i left = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
  const __m512i right = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
  // Pair j of 64-value group g (values 64g + 2j, +1) has scale 4g + j/8.
  __m512i scale_idx[4];
  for (int g = 0; g < 4; ++g) {
    scale_idx[g] = _mm512_add_epi16(
        _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0,
                         0, 0, 0, 0, 0, 0, 0),
        _mm512_set1_epi16(static_cast<short>(4 * g)));
  }
  __m512 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_weights<4>(a + i);
    __m512i q[4];
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(a[i].ql + 64 * h);
      const __m512i hb = _mm512_broadcast_i64x4(load256(a[i].qh + 32 * h));
      const __m512i lo = _mm512_or_si512(_mm512_and_si512(l, m4),
                                         _mm512_and_si512(_mm512_sllv_epi64(hb, left), m30));
      const __m512i hi =
          _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                          _mm512_and_si512(_mm512_srlv_epi64(hb, right), m30));
      q[2 * h] = _mm512_sub_epi8(lo, k32);
      q[2 * h + 1] = _mm512_sub_epi8(hi, k32);
    }
    const __m512i sc =
        _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(a[i].scales))));
    __m512i s[4];
    __m512i c = _mm512_setzero_si512();
    for (int g = 0; g < 4; ++g) {
      s[g] = _mm512_permutexvar_epi16(scale_idx[g], sc);
      c = _mm512_dpwssd_epi32(c, s[g], _mm512_maddubs_epi16(k128, q[g]));
    }
    c = _mm512_sub_epi32(_mm512_setzero_si512(), c);
    const float wd = f16_value(a[i].d);
    for (int t = 0; t < N; ++t) {
      const uint8_t* y = xq[t] + i * QK_K;
      __m512i sum = c;
      for (int g = 0; g < 4; ++g) {
        sum = _mm512_dpwssd_epi32(sum, s[g],
                                  _mm512_maddubs_epi16(_mm512_loadu_si512(y + 64 * g), q[g]));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(wd * xd[t][i]), _mm512_cvtepi32_ps(sum), acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

}  // namespace

// ---- exported: prepared layouts and the kernels ----

size_t multi_row_bytes_q8_0(int64_t n) {
  return static_cast<size_t>(n) + static_cast<size_t>(n / QK8_0) * 8 * sizeof(float);
}

void multi_prepare_q8_0(const void* x, void* prepared, int64_t n) {
  const auto* b = static_cast<const block_q8_0*>(x);
  auto* q = static_cast<uint8_t*>(prepared);
  auto* s = reinterpret_cast<float*>(q + n);
  const __m256i flip = _mm256_set1_epi8(-128);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i * 32),
                        _mm256_xor_si256(load256(b[i].qs), flip));
    _mm256_storeu_ps(s + i * 8, _mm256_set1_ps(f16_value(b[i].d)));
  }
}

size_t multi_row_bytes_q8_k(int64_t n) {
  return static_cast<size_t>(n) + static_cast<size_t>(n / QK_K) * sizeof(float);
}

void multi_prepare_q8_k(const void* x, void* prepared, int64_t n) {
  const auto* b = static_cast<const block_q8_K*>(x);
  auto* q = static_cast<uint8_t*>(prepared);
  auto* d = reinterpret_cast<float*>(q + n);
  const __m512i flip = _mm512_set1_epi8(-128);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    for (int k = 0; k < QK_K; k += 64) {
      _mm512_storeu_si512(q + i * QK_K + k,
                          _mm512_xor_si512(_mm512_loadu_si512(b[i].qs + k), flip));
    }
    d[i] = b[i].d;
  }
}

void vec_dot_multi_q4_0(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q4_0_rows<1>, q4_0_rows<2>, q4_0_rows<3>, q4_0_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

void vec_dot_multi_q8_0(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q8_0_rows<1>, q8_0_rows<2>, q8_0_rows<3>, q8_0_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

void vec_dot_multi_q6_k(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q6_k_rows<1>, q6_k_rows<2>, q6_k_rows<3>, q6_k_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

}  // namespace hearth::kernels::avx512
