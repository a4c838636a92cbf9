// The quantized kernels of simd_quant_avx2.cpp compiled for AVX-512 VL + VNNI: integer dot
// products with vpdpbusd / vpdpwssd, kernels in hearth::kernels::avx512. Installed only when the
// CPU has AVX-512 VNNI (simd_install.cpp); compiled with the AVX-512 flags, so it holds nothing
// but these kernels.
//
// Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 get 512-bit versions here (HEARTH_SIMD_WIDE_BLOCKS
// leaves them out of the included file): two 32-value blocks per vector, four blocks per
// iteration, and the eight F16 scales of those four blocks converted in one instruction.
// GCC 12 at -O3 reports the deliberately undefined pass-through operands of AVX-512 intrinsics
// (_mm512_undefined_*, e.g. inside _mm512_reduce_add_ps / _mm512_cvtph_ps) as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define HEARTH_SIMD_VNNI 1
#define HEARTH_SIMD_WIDE_BLOCKS 1
#define HEARTH_SIMD_NAMESPACE avx512
#include "simd_quant_avx2.cpp"  // NOLINT(bugprone-suspicious-include)
#include "engine/kernels/simd_blocks_avx512.h"

namespace hearth::kernels::avx512 {
namespace {

// 0x10 in byte k of two blocks' values where bit k of their 32-bit high-bit words is set.
inline __m512i fifth_bits64(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t lo, hi;
  std::memcpy(&lo, qh0, 4);
  std::memcpy(&hi, qh1, 4);
  const __mmask64 bits = (static_cast<uint64_t>(hi) << 32) | lo;
  return _mm512_maskz_mov_epi8(bits, _mm512_set1_epi8(0x10));
}

// The 64 int8 of two 32-byte arrays.
inline __m512i bytes64(const int8_t* q0, const int8_t* q1) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(q0)), load256(q1), 1);
}

// Σ (q − off)·x per group of 4 bytes, for codes q in 0..31 and x in [-127, 127].
inline __m512i dot_offset(__m512i q, __m512i x, char off) {
  const __m512i zero = _mm512_setzero_si512();
  return _mm512_sub_epi32(_mm512_dpbusd_epi32(zero, q, x),
                          _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(off), x));
}
inline __m512i dot_q4_offset8(__m512i q, __m512i x) {
  return dot_offset(q, x, 8);
}
inline __m512i dot_u8s8_512(__m512i q, __m512i x) {
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, x);
}
inline float hsum4(__m128 v) {
  v = _mm_add_ps(v, _mm_movehl_ps(v, v));
  v = _mm_add_ss(v, _mm_movehdup_ps(v));
  return _mm_cvtss_f32(v);
}

// Σ w·x per group of 4 bytes for int8 w (any) and x in [-127, 127]: |w| · (x with w's sign).
inline __m512i dot_s8s8_512(__m512i w, __m512i x) {
  const __mmask64 negative = _mm512_movepi8_mask(w);
  const __m512i xs = _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), xs);
}

}  // namespace

float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK4_0;
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead<2>(a + i);
    __m512 s01, s23;
    spread4(_mm_mul_ps(scales4_near<9>(a + i), field4<17, 0>(b + i)), s01, s23);
    const __m512i d01 = dot_q4_offset8(nibbles64(a[i].qs, a[i + 1].qs), bytes64(b[i].qs, b[i + 1].qs));
    const __m512i d23 =
        dot_q4_offset8(nibbles64(a[i + 2].qs, a[i + 3].qs), bytes64(b[i + 2].qs, b[i + 3].qs));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23), s23, acc1);
  }
  __m256 tail = _mm256_setzero_ps();
  for (; i < nb; ++i) {
    const __m256i q = _mm256_sub_epi8(nibbles32(a[i].qs), _mm256_set1_epi8(8));
    const __m256i s = dot_s8s8(_mm256_setzero_si256(), q, load256(b[i].qs));
    tail = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), tail);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + hsum8(tail);
}

float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q8_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK8_0;
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead<3>(a + i);
    __m512 s01, s23;
    spread4(_mm_mul_ps(field4<17, 0>(a + i), field4<17, 0>(b + i)), s01, s23);
    const __m512i d01 = dot_s8s8_512(bytes64(a[i].qs, a[i + 1].qs), bytes64(b[i].qs, b[i + 1].qs));
    const __m512i d23 =
        dot_s8s8_512(bytes64(a[i + 2].qs, a[i + 3].qs), bytes64(b[i + 2].qs, b[i + 3].qs));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23), s23, acc1);
  }
  __m256 tail = _mm256_setzero_ps();
  for (; i < nb; ++i) {
    const __m256i s = dot_s8s8(_mm256_setzero_si256(), load256(a[i].qs), load256(b[i].qs));
    tail = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), tail);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + hsum8(tail);
}

float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  const int64_t nb = n / QK4_1;
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead<2>(a + i);
    __m512 s01, s23;
    spread4(_mm_mul_ps(field4<10, 0>(a + i), field4<18, 0>(b + i)), s01, s23);
    acc_m = _mm_fmadd_ps(field4<10, 1>(a + i), field4<18, 1>(b + i), acc_m);
    const __m512i d01 = dot_u8s8_512(nibbles64(a[i].qs, a[i + 1].qs), bytes64(b[i].qs, b[i + 1].qs));
    const __m512i d23 =
        dot_u8s8_512(nibbles64(a[i + 2].qs, a[i + 3].qs), bytes64(b[i + 2].qs, b[i + 3].qs));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23), s23, acc1);
  }
  __m256 tail = _mm256_setzero_ps();
  float summs = 0;
  for (; i < nb; ++i) {
    const __m256i s = dot_u8s8(_mm256_setzero_si256(), nibbles32(a[i].qs), load256(b[i].qs));
    tail = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), tail);
    summs += f16(a[i].m) * f16(b[i].s);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + hsum8(tail) + hsum4(acc_m) + summs;
}

float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  const int64_t nb = n / QK5_0;
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead<2>(a + i);
    __m512 s01, s23;
    spread4(_mm_mul_ps(field4<11, 0>(a + i), field4<17, 0>(b + i)), s01, s23);
    const __m512i q01 = _mm512_or_si512(nibbles64(a[i].qs, a[i + 1].qs),
                                        fifth_bits64(a[i].qh, a[i + 1].qh));
    const __m512i q23 = _mm512_or_si512(nibbles64(a[i + 2].qs, a[i + 3].qs),
                                        fifth_bits64(a[i + 2].qh, a[i + 3].qh));
    const __m512i d01 = dot_offset(q01, bytes64(b[i].qs, b[i + 1].qs), 16);
    const __m512i d23 = dot_offset(q23, bytes64(b[i + 2].qs, b[i + 3].qs), 16);
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23), s23, acc1);
  }
  __m256 tail = _mm256_setzero_ps();
  for (; i < nb; ++i) {
    const __m256i hi =
        _mm256_andnot_si256(bytes_from_bits32(a[i].qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    const __m256i q = _mm256_or_si256(nibbles32(a[i].qs), hi);
    const __m256i s = dot_s8s8(_mm256_setzero_si256(), q, load256(b[i].qs));
    tail = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), tail);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + hsum8(tail);
}

float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  const int64_t nb = n / QK5_1;
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  int64_t i = 0;
  for (; i + 4 <= nb; i += 4) {
    prefetch_ahead<2>(a + i);
    __m512 s01, s23;
    spread4(_mm_mul_ps(field4<12, 0>(a + i), field4<18, 0>(b + i)), s01, s23);
    acc_m = _mm_fmadd_ps(field4<12, 1>(a + i), field4<18, 1>(b + i), acc_m);
    const __m512i q01 = _mm512_or_si512(nibbles64(a[i].qs, a[i + 1].qs),
                                        fifth_bits64(a[i].qh, a[i + 1].qh));
    const __m512i q23 = _mm512_or_si512(nibbles64(a[i + 2].qs, a[i + 3].qs),
                                        fifth_bits64(a[i + 2].qh, a[i + 3].qh));
    const __m512i d01 = dot_u8s8_512(q01, bytes64(b[i].qs, b[i + 1].qs));
    const __m512i d23 = dot_u8s8_512(q23, bytes64(b[i + 2].qs, b[i + 3].qs));
    acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d01), s01, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d23), s23, acc1);
  }
  __m256 tail = _mm256_setzero_ps();
  float summs = 0;
  for (; i < nb; ++i) {
    const __m256i hi = _mm256_and_si256(bytes_from_bits32(a[i].qh), _mm256_set1_epi8(0x10));
    const __m256i q = _mm256_or_si256(nibbles32(a[i].qs), hi);
    const __m256i s = dot_u8s8(_mm256_setzero_si256(), q, load256(b[i].qs));
    tail = _mm256_fmadd_ps(_mm256_set1_ps(f16(a[i].d) * f16(b[i].d)), _mm256_cvtepi32_ps(s), tail);
    summs += f16(a[i].m) * f16(b[i].s);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + hsum8(tail) + hsum4(acc_m) + summs;
}

}  // namespace hearth::kernels::avx512
