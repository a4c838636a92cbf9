// Multi-row dot kernels for AVX-512 VNNI (TypeOps::vec_dot_multi, kernels.h): one weight row
// against up to kRows activation rows per pass, for the one-token matmul path of several
// sequences decoding together. Installed with the other VNNI kernels (simd_install.cpp);
// compiled with the AVX-512 flags, so this file holds nothing but kernels and their helpers.
//
// What is shared and what is per row. The weight side (loading, nibble / bit unpacking, codes,
// weight scales, and the offset correction below) is done once per block for all rows; per row
// only the integer products with its activation bytes, straight from memory (Q4_0 / Q8_0: two
// vpdpbusd per 4 blocks; Q4_K / Q6_K: four vpmaddubsw + vpdpwssd per super-block), and one
// convert, scale multiply and FMA per 4 blocks / super-block.
//
// Q4_0 / Q8_0: the activation rows are prepared once per matmul call (multi_prepare) into an
// unsigned form: bytes x + 128 (x ^ 0x80), so the signed weight codes stay vpdpbusd's signed
// operand and Σ (x + 128)·w − 128·Σ w = Σ x·w exactly; 128·Σ w depends on the weights only.
// Block scales are stored as F32, repeated 4 times (the spread the FMAs need). Q4_K / Q6_K read
// Q8_K rows as they are: their codes are unsigned, the activations the signed operand, and the
// code offsets / mins go through the activations' bsums, per row.
//
// Bit-identical results for every row count: each row has its own accumulators, and its float
// operations (scale products, FMAs, final reductions) are the same sequence whatever N is; the
// integer sums are exact. (The float sequence is not vec_dot's: a row's multi result may differ
// from its vec_dot result in the last bits, as any two SIMD kernels may.)
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

// Runs the N-row instances over nx rows in groups of up to kRows.
inline void run_groups(const RowsKernel (&kernels)[kRows], int64_t n, const void* w, const void* x,
                       size_t stride, int nx, float* out) {
  const auto* xb = static_cast<const uint8_t*>(x);
  for (int t = 0; t < nx; t += kRows) {
    const int m = nx - t < kRows ? nx - t : kRows;
    kernels[m - 1](n, w, xb + static_cast<size_t>(t) * stride, stride, out + t);
  }
}

// ---- Q4_0 and Q8_0 weights against prepared Q8_0 rows ----
// Prepared row of n values: per group of 4 blocks (fewer at the end), the first 16 values of
// each block (x ^ 0x80), then the last 16 of each; after all groups, each block's scale as F32
// ×4. One 512-bit vector then holds one half of each of 4 blocks (a 128-bit lane per block), so
// the two vpdpbusd of 4 blocks accumulate into one vector of 16 int32 (4 per block), which is
// converted, scaled and summed with one multiply and one FMA per row and 4 blocks.

// Byte offsets of block k's two halves in a group of m blocks.
inline int64_t first_half(int64_t group, int64_t k) {
  return 128 * group + 16 * k;
}
inline int64_t second_half(int64_t group, int64_t m, int64_t k) {
  return 128 * group + 16 * m + 16 * k;
}

inline __m128i load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// The 16 bytes at p, p + stride, p + 2·stride, p + 3·stride as one vector.
inline __m512i gather4x16(const uint8_t* p, size_t stride) {
  __m512i v = _mm512_castsi128_si512(load128(p));
  v = _mm512_inserti32x4(v, load128(p + stride), 1);
  v = _mm512_inserti32x4(v, load128(p + 2 * stride), 2);
  return _mm512_inserti32x4(v, load128(p + 3 * stride), 3);
}

// 4 block scales, each repeated over its 4 lanes.
inline __m512 spread4x4(__m128 s) {
  return _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0),
                               _mm512_castps128_ps512(s));
}

// What 4 blocks of weights contribute, computed once for all rows: the signed codes of the
// blocks' first halves (qa) and second halves (qb), their start value, and the spread scales.
struct Weights4 {
  __m512i qa, qb, c;
  __m512 s;
};

inline Weights4 weights4(__m512i qa, __m512i qb, __m128 scales) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i k128 = _mm512_set1_epi8(-128);
  const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, k128, qa), k128, qb);
  return {qa, qb, _mm512_sub_epi32(zero, sum), spread4x4(scales)};
}

// The N rows' share of blocks i..i+3 (group g = i / 4).
template <int N>
inline void rows4(const Weights4& wt, const uint8_t* const* xq, const float* const* xs, int64_t i,
                  __m512* acc) {
  for (int t = 0; t < N; ++t) {
    const uint8_t* xb = xq[t] + i * 32;
    __m512i d = _mm512_dpbusd_epi32(wt.c, _mm512_loadu_si512(xb), wt.qa);
    d = _mm512_dpbusd_epi32(d, _mm512_loadu_si512(xb + 64), wt.qb);
    acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d),
                             _mm512_mul_ps(wt.s, _mm512_loadu_ps(xs[t] + 4 * i)), acc[t]);
  }
}

// One block of the last, partial group (m blocks, this one k-th): signed halves qa, qb, scale wd.
template <int N>
inline void rows1(__m128i qa, __m128i qb, float wd, const uint8_t* const* xq,
                  const float* const* xs, int64_t i, int64_t m, __m128* tail) {
  const __m128i zero = _mm_setzero_si128();
  const __m128i k128 = _mm_set1_epi8(-128);
  const __m128i c =
      _mm_sub_epi32(zero, _mm_dpbusd_epi32(_mm_dpbusd_epi32(zero, k128, qa), k128, qb));
  const int64_t g = i / 4, k = i % 4;
  for (int t = 0; t < N; ++t) {
    __m128i d = _mm_dpbusd_epi32(c, load128(xq[t] + first_half(g, k)), qa);
    d = _mm_dpbusd_epi32(d, load128(xq[t] + second_half(g, m, k)), qb);
    tail[t] = _mm_fmadd_ps(_mm_cvtepi32_ps(d), _mm_set1_ps(wd * xs[t][4 * i]), tail[t]);
  }
}

inline float hsum4(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

template <int N>
inline void q8_0_row_pointers(const uint8_t* x, size_t stride, int64_t n, const uint8_t** xq,
                              const float** xs) {
  for (int t = 0; t < N; ++t) {
    xq[t] = x + static_cast<size_t>(t) * stride;
    xs[t] = reinterpret_cast<const float*>(xq[t] + n);
  }
}

// Q4_0's prepared row (3n bytes): the x ^ 0x80 halves as for Q8_0, the same halves of x as
// they are, the scales (F32 ×4), then per block 4 int32 offsets, −8·Σ x over the 8 values of
// each int32 lane. Two integer routes give the same lane sums Σ x·(q − 8), exactly:
//   several rows: codes q − 8 against x + 128, from the shared correction −128·Σ (q − 8);
//   one row: codes q (unsigned) against x, from the row's offsets (a load, no shared work).
// The float operations after them are the same, so a row's result does not depend on the route.
template <int N>
void q4_0_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const int64_t nb = n / QK4_0;
  const uint8_t* xq[N];   // x ^ 0x80
  const uint8_t* xsg[N];  // x
  const float* xs[N];
  const int32_t* xo[N];
  for (int t = 0; t < N; ++t) {
    xq[t] = x + static_cast<size_t>(t) * stride;
    xsg[t] = xq[t] + n;
    xs[t] = reinterpret_cast<const float*>(xq[t] + 2 * n);
    xo[t] = reinterpret_cast<const int32_t*>(xs[t] + 4 * nb);
  }
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i eight = _mm512_set1_epi8(8);
  __m512 acc[N];
  __m128 tail[N];
  for (int t = 0; t < N; ++t) {
    acc[t] = _mm512_setzero_ps();
    tail[t] = _mm_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_weights<2>(a + i);
    // qs[j]: value j in the low nibble, value j + 16 in the high one.
    const __m512i raw = gather4x16(a[i].qs, sizeof(block_q4_0));
    const __m512i qa = _mm512_and_si512(raw, m4);
    const __m512i qb = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
    if constexpr (N == 1) {
      const __m512 s = spread4x4(scales4_near<9>(a + i));
      const uint8_t* xb = xsg[0] + i * 32;
      __m512i d =
          _mm512_dpbusd_epi32(_mm512_loadu_si512(xo[0] + 4 * i), qa, _mm512_loadu_si512(xb));
      d = _mm512_dpbusd_epi32(d, qb, _mm512_loadu_si512(xb + 64));
      acc[0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d),
                               _mm512_mul_ps(s, _mm512_loadu_ps(xs[0] + 4 * i)), acc[0]);
    } else {
      const __m512i sa = _mm512_sub_epi8(qa, eight);
      const __m512i sb = _mm512_sub_epi8(qb, eight);
      rows4<N>(weights4(sa, sb, scales4_near<9>(a + i)), xq, xs, i, acc);
    }
  }
  for (const int64_t m = nb - i; i < nb; ++i) {
    const __m128i raw = load128(a[i].qs);
    const __m128i qa = _mm_and_si128(raw, _mm_set1_epi8(0x0f));
    const __m128i qb = _mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(0x0f));
    if constexpr (N == 1) {
      const int64_t g = i / 4, k = i % 4;
      __m128i d = _mm_dpbusd_epi32(load128(xo[0] + 4 * i), qa, load128(xsg[0] + first_half(g, k)));
      d = _mm_dpbusd_epi32(d, qb, load128(xsg[0] + second_half(g, m, k)));
      tail[0] =
          _mm_fmadd_ps(_mm_cvtepi32_ps(d), _mm_set1_ps(f16_value(a[i].d) * xs[0][4 * i]), tail[0]);
    } else {
      const __m128i eight4 = _mm_set1_epi8(8);
      rows1<N>(_mm_sub_epi8(qa, eight4), _mm_sub_epi8(qb, eight4), f16_value(a[i].d), xq, xs, i, m,
               tail);
    }
  }
  for (int t = 0; t < N; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + hsum4(tail[t]);
}

template <int N>
void q8_0_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q8_0*>(w);
  const int64_t nb = n / QK8_0;
  const uint8_t* xq[N];
  const float* xs[N];
  q8_0_row_pointers<N>(x, stride, n, xq, xs);
  __m512 acc[N];
  __m128 tail[N];
  for (int t = 0; t < N; ++t) {
    acc[t] = _mm512_setzero_ps();
    tail[t] = _mm_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_weights<3>(a + i);
    const auto* q = reinterpret_cast<const uint8_t*>(a[i].qs);
    const __m512i qa = gather4x16(q, sizeof(block_q8_0));
    const __m512i qb = gather4x16(q + 16, sizeof(block_q8_0));
    rows4<N>(weights4(qa, qb, field4<17, 0>(a + i)), xq, xs, i, acc);
  }
  for (const int64_t m = nb - i; i < nb; ++i) {
    rows1<N>(load128(a[i].qs), load128(a[i].qs + 16), f16_value(a[i].d), xq, xs, i, m, tail);
  }
  for (int t = 0; t < N; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + hsum4(tail[t]);
}

// ---- Q6_K weights against Q8_K rows (no preparation) ----
// The 256 codes q (0..63) are unpacked in value order as four vectors of 64 bytes, the unsigned
// operand of vpmaddubsw against 64 activation bytes (pairs: 2·63·127 < 2^15), then vpdpwssd with
// the pairs' 16-value scales; the −32 offset is −32·Σ scale·bsum, from the activations' bsums.

template <int N>
void q6_k_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q6_K*>(w);
  const int64_t nb = n / QK_K;
  const block_q8_K* y[N];
  for (int t = 0; t < N; ++t)
    y[t] = reinterpret_cast<const block_q8_K*>(x + static_cast<size_t>(t) * stride);
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i m30 = _mm512_set1_epi8(0x30);
  // Top-bit shifts: values 0..31 / 32..63 of a half take qh bits 0-1 / 2-3 (left by 4 / 2 to
  // bits 4-5), values 64..95 / 96..127 bits 4-5 / 6-7 (right by 0 / 2).
  const __m512i left = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
  const __m512i right = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
  // Pair j of 64-value group g (values 64g + 2j, +1) has scale 4g + j/8, the same in each
  // 128-bit lane k = j/8: vpshufb puts scale byte 4g + k into the high byte of every word of
  // lane k (the low byte 0: index 0x80), and an arithmetic shift sign-extends it.
  __m512i scale_pick[4];
  for (int g = 0; g < 4; ++g) {
    int word[4];
    for (int k = 0; k < 4; ++k) word[k] = (((4 * g + k) << 8) | 0x80) * 0x10001;
    scale_pick[g] =
        _mm512_set_epi32(word[3], word[3], word[3], word[3], word[2], word[2], word[2], word[2],
                         word[1], word[1], word[1], word[1], word[0], word[0], word[0], word[0]);
  }
  __m512 acc[N];
  for (int t = 0; t < N; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_weights<4>(a + i);
    __m512i q[4];
    for (int h = 0; h < 2; ++h) {
      const __m512i l = _mm512_loadu_si512(a[i].ql + 64 * h);
      const __m512i hb = _mm512_broadcast_i64x4(load256(a[i].qh + 32 * h));
      q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4),
                                 _mm512_and_si512(_mm512_sllv_epi64(hb, left), m30));
      q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                     _mm512_and_si512(_mm512_srlv_epi64(hb, right), m30));
    }
    const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a[i].scales));
    const __m256i sc16 = _mm256_cvtepi8_epi16(scales);
    const __m512i sc = _mm512_broadcast_i32x4(scales);  // 16 int8, ×4 lanes
    __m512i s[4];
    for (int g = 0; g < 4; ++g) s[g] = _mm512_srai_epi16(_mm512_shuffle_epi8(sc, scale_pick[g]), 8);
    const float wd = f16_value(a[i].d);
    for (int t = 0; t < N; ++t) {
      const block_q8_K& b = y[t][i];
      const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(sc16, load256(b.bsums)), 5);
      __m512i sum = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), offset));
      for (int g = 0; g < 4; ++g) {
        sum = _mm512_dpwssd_epi32(sum, s[g],
                                  _mm512_maddubs_epi16(q[g], _mm512_loadu_si512(b.qs + 64 * g)));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(wd * b.d), _mm512_cvtepi32_ps(sum), acc[t]);
    }
  }
  for (int t = 0; t < N; ++t) out[t] = _mm512_reduce_add_ps(acc[t]);
}

// ---- Q4_K weights against Q8_K rows (no preparation) ----
// The codes 0..15 are the unsigned operand of vpmaddubsw, the activations the signed one, so no
// offset is needed; the mins come from the activations' bsums. Group g of 64 values is the
// 32-byte chunk g of qs, low nibbles (sub-block 2g) then high nibbles (2g + 1).

// Q4_K / Q5_K: the 8 6-bit scales (bytes 0..7) and mins (bytes 8..15) of the packed 12 bytes.
inline __m128i k4_scales_mins(const uint8_t* scales) {
  uint32_t u[4];
  __builtin_memcpy(u, scales, 12);
  const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  const uint32_t mins_lo = u[1] & kmask1;
  u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  u[2] = mins_lo;
  u[0] &= kmask1;
  return _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                       static_cast<int>(u[0]));
}

template <int N>
void q4_k_rows(int64_t n, const void* w, const uint8_t* x, size_t stride, float* out) {
  const auto* a = static_cast<const block_q4_K*>(w);
  const int64_t nb = n / QK_K;
  const block_q8_K* y[N];
  for (int t = 0; t < N; ++t)
    y[t] = reinterpret_cast<const block_q8_K*>(x + static_cast<size_t>(t) * stride);
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i nibble_shift = _mm512_set_epi64(4, 4, 4, 4, 0, 0, 0, 0);
  // Group g: each int16 lane of its scale vector takes scale byte 2g (low 256 bits) or 2g + 1,
  // zero-extended (index 0x80 for the high byte).
  __m512i scale_pick[4];
  for (int g = 0; g < 4; ++g) {
    const auto lo = static_cast<int>((static_cast<uint32_t>(2 * g) | 0x8000u) * 0x10001u);
    const auto hi = static_cast<int>((static_cast<uint32_t>(2 * g + 1) | 0x8000u) * 0x10001u);
    scale_pick[g] =
        _mm512_set_epi32(hi, hi, hi, hi, hi, hi, hi, hi, lo, lo, lo, lo, lo, lo, lo, lo);
  }
  // Each min twice (bytes 8..15 of k4_scales_mins): one per 16-value bsum.
  const __m128i min_pairs =
      _mm_set_epi8(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  __m512 acc[N];
  __m256 acc_m[N];
  for (int t = 0; t < N; ++t) {
    acc[t] = _mm512_setzero_ps();
    acc_m[t] = _mm256_setzero_ps();
  }
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_weights<3>(a + i);
    __m512i q[4];
    for (int g = 0; g < 4; ++g) {
      const __m512i chunk = _mm512_broadcast_i64x4(load256(a[i].qs + 32 * g));
      q[g] = _mm512_and_si512(_mm512_srlv_epi64(chunk, nibble_shift), m4);
    }
    const __m128i sm = k4_scales_mins(a[i].scales);
    const __m512i sc = _mm512_broadcast_i32x4(sm);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, min_pairs));
    __m512i s[4];
    for (int g = 0; g < 4; ++g) s[g] = _mm512_shuffle_epi8(sc, scale_pick[g]);
    const float wd = f16_value(a[i].d);
    const float wmin = f16_value(a[i].dmin);
    for (int t = 0; t < N; ++t) {
      const block_q8_K& b = y[t][i];
      __m512i sum = _mm512_setzero_si512();
      for (int g = 0; g < 4; ++g) {
        sum = _mm512_dpwssd_epi32(sum, s[g],
                                  _mm512_maddubs_epi16(q[g], _mm512_loadu_si512(b.qs + 64 * g)));
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(wd * b.d), _mm512_cvtepi32_ps(sum), acc[t]);
      const __m256i prod = _mm256_madd_epi16(mins, load256(b.bsums));
      acc_m[t] = _mm256_fmadd_ps(_mm256_set1_ps(-b.d * wmin), _mm256_cvtepi32_ps(prod), acc_m[t]);
    }
  }
  for (int t = 0; t < N; ++t) {
    const __m256 m = acc_m[t];
    const __m128 m4s = _mm_add_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    out[t] = _mm512_reduce_add_ps(acc[t]) + hsum4(m4s);
  }
}

}  // namespace

// ---- exported: prepared layouts and the kernels ----

size_t multi_row_bytes_q8_0(int64_t n) {
  return static_cast<size_t>(n) + static_cast<size_t>(n / QK8_0) * 4 * sizeof(float);
}

void multi_prepare_q8_0(const void* x, void* prepared, int64_t n) {
  const auto* b = static_cast<const block_q8_0*>(x);
  auto* q = static_cast<uint8_t*>(prepared);
  auto* s = reinterpret_cast<float*>(q + n);
  const int64_t nb = n / QK8_0;
  const __m128i flip = _mm_set1_epi8(-128);
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t g = i / 4, k = i % 4, m = nb - 4 * g < 4 ? nb - 4 * g : 4;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + first_half(g, k)),
                     _mm_xor_si128(load128(b[i].qs), flip));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + second_half(g, m, k)),
                     _mm_xor_si128(load128(b[i].qs + 16), flip));
    _mm_storeu_ps(s + i * 4, _mm_set1_ps(f16_value(b[i].d)));
  }
}

size_t multi_row_bytes_q4_0(int64_t n) {
  return 3 * static_cast<size_t>(n);  // 2n bytes, n/8 floats, n/8 int32
}

void multi_prepare_q4_0(const void* x, void* prepared, int64_t n) {
  const auto* b = static_cast<const block_q8_0*>(x);
  auto* q = static_cast<uint8_t*>(prepared);
  uint8_t* plain = q + n;
  const int64_t nb = n / QK8_0;
  auto* s = reinterpret_cast<float*>(q + 2 * n);
  auto* offsets = reinterpret_cast<int32_t*>(s + 4 * nb);
  const __m128i flip = _mm_set1_epi8(-128);
  const __m128i ones = _mm_set1_epi8(1);
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t g = i / 4, k = i % 4, m = nb - 4 * g < 4 ? nb - 4 * g : 4;
    const __m128i lo = load128(b[i].qs), hi = load128(b[i].qs + 16);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + first_half(g, k)), _mm_xor_si128(lo, flip));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + second_half(g, m, k)), _mm_xor_si128(hi, flip));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(plain + first_half(g, k)), lo);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(plain + second_half(g, m, k)), hi);
    _mm_storeu_ps(s + i * 4, _mm_set1_ps(f16_value(b[i].d)));
    // Lane j: values 4j..4j+3 of both halves.
    const __m128i sums =
        _mm_dpbusd_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), ones, lo), ones, hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(offsets + 4 * i),
                     _mm_mullo_epi32(sums, _mm_set1_epi32(-8)));
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

void vec_dot_multi_q4_k(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q4_k_rows<1>, q4_k_rows<2>, q4_k_rows<3>, q4_k_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

void vec_dot_multi_q6_k(int64_t n, const void* w, const void* x, size_t stride, int nx,
                        float* out) {
  static constexpr RowsKernel k[kRows] = {q6_k_rows<1>, q6_k_rows<2>, q6_k_rows<3>, q6_k_rows<4>};
  run_groups(k, n, w, x, stride, nx, out);
}

}  // namespace hearth::kernels::avx512
