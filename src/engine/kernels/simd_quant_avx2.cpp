// AVX2 kernels of the quantized types: the activation quantizers (Q8_0, Q8_1, Q8_K; bit-identical
// to reference_q8.cpp) and the integer dot products of every weight type against its activation
// type: exact integer sums inside each block (as the reference), scaled and summed in F32 in a
// different order (the only difference from the reference).
//
// simd_quant_avx512.cpp compiles this same file a second time for AVX-512 VL + VNNI, with
// HEARTH_SIMD_VNNI set: the u8·s8 products then use vpdpbusd and the s16 scale products vpdpwssd
// (the same exact integers, fewer instructions), and the kernels land in hearth::kernels::avx512.
//
// Compiled with wide-ISA flags: only kernels live here (helpers in an anonymous namespace,
// exported kernels in one namespace, no shared inline code), and nothing here runs before
// cpu_features() has confirmed the instruction set (see simd_tables.h).
//
// Integer-range note: products use |w| · sign(x, w) (as llama.cpp does), exact for any int8
// weight and any activation code in [-127, 127], which is what the Q8 quantizers produce.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/blocks.h"

#ifndef HEARTH_SIMD_WIDE_BLOCKS
#define HEARTH_SIMD_WIDE_BLOCKS 0
#endif
#ifndef HEARTH_SIMD_VNNI
#define HEARTH_SIMD_VNNI 0
#define HEARTH_SIMD_NAMESPACE avx2
#endif

namespace hearth::kernels::HEARTH_SIMD_NAMESPACE {
namespace {

inline float f16(uint16_t h) {
  return _cvtsh_ss(h);
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline int hsum_i32x8(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// Software prefetch of weight bytes this far ahead of the block being computed: rows are read
// once, straight from memory, and the hardware prefetcher alone leaves a single core well short
// of its share of the bandwidth (measured: Q4_0 6 -> 10 GB/s on one core).
constexpr int kPrefetchBytes = 3072;
template <int lines>
inline void prefetch_ahead(const void* p) {
  for (int l = 0; l < lines; ++l)
    _mm_prefetch(static_cast<const char*>(p) + kPrefetchBytes + 64 * l, _MM_HINT_T0);
}

// acc + Σ of each 4 adjacent u8·s8 products, as 8 int32 (u ≤ 128 keeps maddubs from saturating
// for every caller here).
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if HEARTH_SIMD_VNNI
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  const __m256i p16 = _mm256_maddubs_epi16(u, s);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
#endif
}

// acc + Σ of each 2 adjacent s16·s16 products, as 8 int32.
inline __m256i dot_s16(__m256i acc, __m256i a, __m256i b) {
#if HEARTH_SIMD_VNNI
  return _mm256_dpwssd_epi32(acc, a, b);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(a, b));
#endif
}

// Σ w·x in 4-product int32 groups for int8 w (any) and x in [-127, 127].
inline __m256i dot_s8s8(__m256i acc, __m256i w, __m256i x) {
  return dot_u8s8(acc, _mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}

// The 32 nibbles of 16 bytes as bytes in value order: low nibbles (values 0..15), then high.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i t = load128(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// 0xFF in byte i where bit i of the little-endian 32-bit word at p is set, else 0.
inline __m256i bytes_from_bits32(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, sizeof bits);
#if HEARTH_SIMD_VNNI
  return _mm256_movm_epi8(bits);
#else
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101,
                                         0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuf);
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
#endif
}

// 32 floats -> 32 int8 (round half to even) in order, given the multiplier.
inline __m256i quantize32(const float* x, __m256 mul) {
  const int r = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), mul), r));
  const __m256i i1 =
      _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), mul), r));
  const __m256i i2 =
      _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), mul), r));
  const __m256i i3 =
      _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), mul), r));
  const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256 abs8(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

// max |x| over 32 values; NaNs are skipped, as std::fmax does in the reference.
inline float amax32(const float* x) {
  __m256 m = _mm256_setzero_ps();
  for (int k = 0; k < 32; k += 8) m = _mm256_max_ps(abs8(_mm256_loadu_ps(x + k)), m);
  __m128 s = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Q8_0 / Q8_1 block quantization; returns the F32 scale (before F16 rounding).
inline float quantize_q8_block(const float* x, int8_t* qs) {
  const float amax = amax32(x);
  const float d = amax / 127.f;
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), quantize32(x, _mm256_set1_ps(id)));
  return d;
}

// Σ of each 16 consecutive int8 of q (32 bytes) -> the two sums.
inline void sums16(__m256i q, int16_t* out) {
  const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
                                        _mm256_set1_epi16(1));  // 4 values per int32
  __m256i h = _mm256_hadd_epi32(s32, s32);
  h = _mm256_hadd_epi32(h, h);
  out[0] = static_cast<int16_t>(_mm256_extract_epi32(h, 0));
  out[1] = static_cast<int16_t>(_mm256_extract_epi32(h, 4));
}

// Q4_K / Q5_K: the 8 6-bit scales (bytes 0..7) and mins (bytes 8..15) of the packed 12 bytes.
inline __m128i k4_scales_mins(const uint8_t* scales) {
  uint32_t u[4];
  std::memcpy(u, scales, 12);
  const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  const uint32_t mins_lo = u[1] & kmask1;
  u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  u[2] = mins_lo;
  u[0] &= kmask1;
  return _mm_set_epi32(static_cast<int>(u[3]), static_cast<int>(u[2]), static_cast<int>(u[1]),
                       static_cast<int>(u[0]));
}

// From 8 int16 scales in both lanes of v: scale 2k in every int16 of the low lane, 2k+1 in the
// high lane (the scales of values 32k..32k+15 and 32k+16..32k+31 in 16-value sub-blocks).
inline __m256i scale_pair(__m256i v, int k) {
  const char a = static_cast<char>(4 * k), b = static_cast<char>(4 * k + 1);
  const char c = static_cast<char>(4 * k + 2), e = static_cast<char>(4 * k + 3);
  const __m256i shuf = _mm256_setr_epi8(a, b, a, b, a, b, a, b, a, b, a, b, a, b, a, b, c, e, c, e,
                                        c, e, c, e, c, e, c, e, c, e, c, e);
  return _mm256_shuffle_epi8(v, shuf);
}

}  // namespace

// ---- activation quantizers ----

void from_float_q8_0(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_0*>(out);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float d = quantize_q8_block(in + i * QK8_0, b[i].qs);
    b[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
  }
}

void from_float_q8_1(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_1*>(out);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = quantize_q8_block(in + i * QK8_1, b[i].qs);
    const __m256i q = load256(b[i].qs);
    const __m256i s32 =
        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
    const int sum = hsum_i32x8(s32);
    b[i].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    b[i].s = _cvtss_sh(d * static_cast<float>(sum), _MM_FROUND_TO_NEAREST_INT);
  }
}

void from_float_q8_k(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_K*>(out);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = in + i * QK_K;
    block_q8_K& y = b[i];
    __m256 m = _mm256_setzero_ps();
    for (int k = 0; k < QK_K; k += 8) m = _mm256_max_ps(abs8(_mm256_loadu_ps(x + k)), m);
    __m128 s = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    const float amax = _mm_cvtss_f32(s);
    if (amax == 0.f) {
      std::memset(&y, 0, sizeof(y));
      continue;
    }
    // The first element of largest magnitude.
    float max = 0;
    const __m256 vamax = _mm256_set1_ps(amax);
    for (int k = 0; k < QK_K; k += 8) {
      const int mask =
          _mm256_movemask_ps(_mm256_cmp_ps(abs8(_mm256_loadu_ps(x + k)), vamax, _CMP_EQ_OQ));
      if (mask) {
        max = x[k + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m256 mul = _mm256_set1_ps(iscale);
    const __m256i q127 = _mm256_set1_epi8(127);
    for (int k = 0; k < QK_K; k += 32) {
      const __m256i q = _mm256_min_epi8(quantize32(x + k, mul), q127);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y.qs + k), q);
      sums16(q, y.bsums + k / 16);
    }
    y.d = 1 / iscale;
  }
}

// ---- 32-value block types ----

// With HEARTH_SIMD_WIDE_BLOCKS (the AVX-512 build), simd_quant_avx512.cpp defines Q8_0, Q4_0,
// Q4_1, Q5_0 and Q5_1 with 512-bit vectors instead.
#if !HEARTH_SIMD_WIDE_BLOCKS
float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q8_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK8_0;
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    prefetch_ahead<2>(a + i);
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), load256(a[i].qs), load256(b[i].qs));
    const __m256i s1 = dot_s8s8(_mm256_setzero_si256(), load256(a[i + 1].qs), load256(b[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i + 1].d) * f16(b[i + 1].d)),
                           _mm256_cvtepi32_ps(s1), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), load256(a[i].qs), load256(b[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
}

float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK4_0;
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    prefetch_ahead<1>(a + i);
    const __m256i q0 = _mm256_sub_epi8(nibbles32(a[i].qs), eight);
    const __m256i q1 = _mm256_sub_epi8(nibbles32(a[i + 1].qs), eight);
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), q0, load256(b[i].qs));
    const __m256i s1 = dot_s8s8(_mm256_setzero_si256(), q1, load256(b[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i + 1].d) * f16(b[i + 1].d)),
                           _mm256_cvtepi32_ps(s1), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i q0 = _mm256_sub_epi8(nibbles32(a[i].qs), eight);
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), q0, load256(b[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
}

#endif  // !HEARTH_SIMD_WIDE_BLOCKS

#if !HEARTH_SIMD_WIDE_BLOCKS
float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  const int64_t nb = n / QK4_1;
  __m256 acc = _mm256_setzero_ps();
  float summs = 0;
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<1>(a + i);
    const __m256i s = dot_u8s8(_mm256_setzero_si256(), nibbles32(a[i].qs), load256(b[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), acc);
    summs += f16(a[i].m) * f16(b[i].s);
  }
  return hsum8(acc) + summs;
}

float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK5_0;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<1>(a + i);
    // q − 16: the low nibble, minus 16 (0xF0 set) where the fifth bit is clear.
    const __m256i hi =
        _mm256_andnot_si256(bytes_from_bits32(a[i].qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(nibbles32(a[i].qs), hi);
    const __m256i s = dot_s8s8(_mm256_setzero_si256(), q, load256(b[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), acc);
  }
  return hsum8(acc);
}

float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  const int64_t nb = n / QK5_1;
  __m256 acc = _mm256_setzero_ps();
  float summs = 0;
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<1>(a + i);
    const __m256i hi = _mm256_and_si256(bytes_from_bits32(a[i].qh), _mm256_set1_epi8(0x10));
    const __m256i q = _mm256_or_si256(nibbles32(a[i].qs), hi);
    const __m256i s = dot_u8s8(_mm256_setzero_si256(), q, load256(b[i].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), acc);
    summs += f16(a[i].m) * f16(b[i].s);
  }
  return hsum8(acc) + summs;
}

#endif  // !HEARTH_SIMD_WIDE_BLOCKS

float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_iq4_nl*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK4_NL;
  const __m128i values = load128(kvalues_iq4nl);
  const __m256i table = _mm256_set_m128i(values, values);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    prefetch_ahead<1>(a + i);
    const __m256i q0 = _mm256_shuffle_epi8(table, nibbles32(a[i].qs));
    const __m256i q1 = _mm256_shuffle_epi8(table, nibbles32(a[i + 1].qs));
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), q0, load256(b[i].qs));
    const __m256i s1 = dot_s8s8(_mm256_setzero_si256(), q1, load256(b[i + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i + 1].d) * f16(b[i + 1].d)),
                           _mm256_cvtepi32_ps(s1), acc1);
  }
  for (; i < nb; ++i) {
    const __m256i q0 = _mm256_shuffle_epi8(table, nibbles32(a[i].qs));
    const __m256i s0 = dot_s8s8(_mm256_setzero_si256(), q0, load256(b[i].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s0), acc0);
  }
  return hsum8(_mm256_add_ps(acc0, acc1));
}

// ---- K-quants (super-blocks of 256 against Q8_K) ----

float vec_dot_q2_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q2_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  const int64_t nb = n / QK_K;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m128i m4 = _mm_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<2>(a + i);
    const float d = b[i].d * f16(a[i].d);
    const float dmin = -b[i].d * f16(a[i].dmin);
    const __m128i sm = load128(a[i].scales);
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sm, 4), m4));
    const __m256i prod = _mm256_madd_epi16(mins, load256(b[i].bsums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), acc);
    const __m256i all = _mm256_cvtepu8_epi16(_mm_and_si128(sm, m4));
    const __m256i sc[2] = {_mm256_permute2x128_si256(all, all, 0x00),
                           _mm256_permute2x128_si256(all, all, 0x11)};
    const uint8_t* q2 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 2; ++j) {
      const __m256i bits = load256(q2 + 32 * j);
      for (int k = 0; k < 4; ++k) {
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
        const __m256i p16 = _mm256_maddubs_epi16(q, load256(q8 + 128 * j + 32 * k));
        sumi = dot_s16(sumi, scale_pair(sc[j], k), p16);
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum8(acc);
}

float vec_dot_q3_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q3_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  const int64_t nb = n / QK_K;
  const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i m4 = _mm256_set1_epi8(4);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<2>(a + i);
    const float d = b[i].d * f16(a[i].d);
    uint32_t aux[3];
    std::memcpy(aux, a[i].scales, 12);
    __m128i scales128 =
        _mm_set_epi32(static_cast<int>(((aux[1] >> 4) & kmask2) | (((aux[2] >> 6) & kmask1) << 4)),
                      static_cast<int>(((aux[0] >> 4) & kmask2) | (((aux[2] >> 4) & kmask1) << 4)),
                      static_cast<int>((aux[1] & kmask2) | (((aux[2] >> 2) & kmask1) << 4)),
                      static_cast<int>((aux[0] & kmask2) | (((aux[2] >> 0) & kmask1) << 4)));
    scales128 = _mm_sub_epi8(scales128, _mm_set1_epi8(32));
    const __m256i all = _mm256_cvtepi8_epi16(scales128);
    const __m256i sc[2] = {_mm256_permute2x128_si256(all, all, 0x00),
                           _mm256_permute2x128_si256(all, all, 0x11)};
    // The 4·!hbit part: 4 where the high bit is clear, multiplied separately and subtracted.
    const __m256i hbits = load256(a[i].hmask);
    const uint8_t* q3 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 2; ++j) {
      const __m256i bits = load256(q3 + 32 * j);
      for (int k = 0; k < 4; ++k) {
        const int m = 4 * j + k;  // hmask bit of values 32m + l
        const __m256i set =
            _mm256_cmpeq_epi8(_mm256_and_si256(hbits, _mm256_set1_epi8(static_cast<char>(1 << m))),
                              _mm256_setzero_si256());
        const __m256i qh = _mm256_and_si256(set, m4);
        const __m256i ql = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
        const __m256i y = load256(q8 + 128 * j + 32 * k);
        const __m256i p16 =
            _mm256_sub_epi16(_mm256_maddubs_epi16(ql, y), _mm256_maddubs_epi16(qh, y));
        sumi = dot_s16(sumi, scale_pair(sc[j], k), p16);
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum8(acc);
}

float vec_dot_q4_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  const int64_t nb = n / QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<3>(a + i);
    const float d = b[i].d * f16(a[i].d);
    const float dmin = -b[i].d * f16(a[i].dmin);
    const __m256i mins_scales = _mm256_cvtepu8_epi16(k4_scales_mins(a[i].scales));
    const __m256i bsums = load256(b[i].bsums);
    const __m128i q8s =
        _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    const __m128i prod = _mm_madd_epi16(_mm256_extracti128_si256(mins_scales, 1), q8s);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
    // Scales as int16: both lanes hold scales 0..7; each 32-value sub-block has one scale.
    const __m256i sc = _mm256_permute2x128_si256(mins_scales, mins_scales, 0x00);
    const uint8_t* q4 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i bits = load256(q4 + 32 * c);
      const __m256i lo = _mm256_and_si256(bits, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
      const __m256i p_lo = _mm256_maddubs_epi16(lo, load256(q8 + 64 * c));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, load256(q8 + 64 * c + 32));
      const __m256i s_lo = _mm256_shuffle_epi8(
          sc, _mm256_set1_epi16(static_cast<short>(((4 * c + 1) << 8) | (4 * c))));
      const __m256i s_hi = _mm256_shuffle_epi8(
          sc, _mm256_set1_epi16(static_cast<short>(((4 * c + 3) << 8) | (4 * c + 2))));
      sumi = dot_s16(sumi, s_lo, p_lo);
      sumi = dot_s16(sumi, s_hi, p_hi);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
  acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
  return hsum8(acc) + _mm_cvtss_f32(acc_m);
}

float vec_dot_q5_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  const int64_t nb = n / QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i bit4 = _mm256_set1_epi8(0x10);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<3>(a + i);
    const float d = b[i].d * f16(a[i].d);
    const float dmin = -b[i].d * f16(a[i].dmin);
    const __m256i mins_scales = _mm256_cvtepu8_epi16(k4_scales_mins(a[i].scales));
    const __m256i bsums = load256(b[i].bsums);
    const __m128i q8s =
        _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    const __m128i prod = _mm_madd_epi16(_mm256_extracti128_si256(mins_scales, 1), q8s);
    acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
    const __m256i sc = _mm256_permute2x128_si256(mins_scales, mins_scales, 0x00);
    const __m256i hbits = load256(a[i].qh);
    const uint8_t* q5 = a[i].qs;
    const int8_t* q8 = b[i].qs;
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i bits = load256(q5 + 32 * c);
      // Bit j of qh[l] -> bit 4 of the code of value 32j + l (j = 2c, 2c + 1).
      const int j0 = 2 * c, j1 = 2 * c + 1;
      const __m256i h0 =
          j0 <= 4 ? _mm256_slli_epi16(hbits, 4 - j0) : _mm256_srli_epi16(hbits, j0 - 4);
      const __m256i h1 =
          j1 <= 4 ? _mm256_slli_epi16(hbits, 4 - j1) : _mm256_srli_epi16(hbits, j1 - 4);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_and_si256(h0, bit4));
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
                                         _mm256_and_si256(h1, bit4));
      const __m256i p_lo = _mm256_maddubs_epi16(lo, load256(q8 + 64 * c));
      const __m256i p_hi = _mm256_maddubs_epi16(hi, load256(q8 + 64 * c + 32));
      const __m256i s_lo = _mm256_shuffle_epi8(
          sc, _mm256_set1_epi16(static_cast<short>(((4 * c + 1) << 8) | (4 * c))));
      const __m256i s_hi = _mm256_shuffle_epi8(
          sc, _mm256_set1_epi16(static_cast<short>(((4 * c + 3) << 8) | (4 * c + 2))));
      sumi = dot_s16(sumi, s_lo, p_lo);
      sumi = dot_s16(sumi, s_hi, p_hi);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
  acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
  return hsum8(acc) + _mm_cvtss_f32(acc_m);
}

float vec_dot_q6_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q6_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  const int64_t nb = n / QK_K;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i m2 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    prefetch_ahead<4>(a + i);
    const float d = b[i].d * f16(a[i].d);
    const __m256i all = _mm256_cvtepi8_epi16(load128(a[i].scales));
    // Σ scale·(q − 32)·y = Σ scale·q·y − 32·Σ scale·bsum.
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(all, load256(b[i].bsums)), 5);
    const __m256i sc[2] = {_mm256_permute2x128_si256(all, all, 0x00),
                           _mm256_permute2x128_si256(all, all, 0x11)};
    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < 2; ++h) {
      const __m256i l0 = load256(a[i].ql + 64 * h);
      const __m256i l1 = load256(a[i].ql + 64 * h + 32);
      const __m256i hb = load256(a[i].qh + 32 * h);
      const int8_t* q8 = b[i].qs + 128 * h;
      const __m256i q0 =
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
      const __m256i q1 =
          _mm256_or_si256(_mm256_and_si256(l1, m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
      const __m256i q2 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
      const __m256i q3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
      sumi = dot_s16(sumi, scale_pair(sc[h], 0), _mm256_maddubs_epi16(q0, load256(q8)));
      sumi = dot_s16(sumi, scale_pair(sc[h], 1), _mm256_maddubs_epi16(q1, load256(q8 + 32)));
      sumi = dot_s16(sumi, scale_pair(sc[h], 2), _mm256_maddubs_epi16(q2, load256(q8 + 64)));
      sumi = dot_s16(sumi, scale_pair(sc[h], 3), _mm256_maddubs_epi16(q3, load256(q8 + 96)));
    }
    sumi = _mm256_sub_epi32(sumi, offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum8(acc);
}

}  // namespace hearth::kernels::HEARTH_SIMD_NAMESPACE
