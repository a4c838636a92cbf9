// AVX-512 (F/BW/VL) kernels for the float types: F32, F16 and BF16 dot products and the F16 /
// BF16 conversions, 16 lanes at a time with masked tails. Compiled with the AVX-512 flags: only
// kernels live here (helpers in an anonymous namespace, exported kernels in
// hearth::kernels::avx512), and nothing here runs before cpu_features() has confirmed AVX-512
// F/BW/VL (see simd_tables.h). simd_install.cpp stores their addresses in the avx512 table.
// GCC 12 at -O3 reports the deliberately undefined pass-through operands of AVX-512 intrinsics
// (_mm512_undefined_*, e.g. inside _mm512_reduce_add_ps / _mm512_cvtph_ps) as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace hearth::kernels::avx512 {
namespace {

inline __mmask16 tail_mask(int64_t left) {
  return static_cast<__mmask16>((1u << left) - 1u);  // left in 1..15
}

inline __m512 load_f16x16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

inline __m512 load_f16x16_masked(const uint16_t* p, __mmask16 m) {
  return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}

inline __m512 load_bf16x16(const uint16_t* p) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

inline __m512 load_bf16x16_masked(const uint16_t* p, __mmask16 m) {
  const __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}

// ggml's F32 -> BF16: round to nearest even, NaN -> quiet NaN (as half.cpp's f32_to_bf16).
inline __m256i f32_to_bf16x16(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i ax = _mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(ax, _mm512_set1_epi32(0x7f800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  __m512i r =
      _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb), 16);
  r = _mm512_mask_or_epi32(r, is_nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(64));
  return _mm512_cvtepi32_epi16(r);
}

// Σ a[i]·b[i] over two rows of a 16-bit float format (F16 or BF16): widened 16 at a time by
// Load, the tail by a masked load, four accumulators to hide the FMA latency.
template <__m512 (*Load)(const uint16_t*), __m512 (*LoadMasked)(const uint16_t*, __mmask16)>
float dot_16bit(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const uint16_t* b = static_cast<const uint16_t*>(x);
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps();
  __m512 acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(Load(a + i), Load(b + i), acc0);
    acc1 = _mm512_fmadd_ps(Load(a + i + 16), Load(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(Load(a + i + 32), Load(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(Load(a + i + 48), Load(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) acc0 = _mm512_fmadd_ps(Load(a + i), Load(b + i), acc0);
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    acc1 = _mm512_fmadd_ps(LoadMasked(a + i, m), LoadMasked(b + i, m), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

}  // namespace

float vec_dot_f32(int64_t n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps();
  __m512 acc3 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

float vec_dot_f16(int64_t n, const void* w, const void* x) {
  return dot_16bit<load_f16x16, load_f16x16_masked>(n, w, x);
}

float vec_dot_bf16(int64_t n, const void* w, const void* x) {
  return dot_16bit<load_bf16x16, load_bf16x16_masked>(n, w, x);
}

void to_float_f16(const void* in, float* out, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, load_f16x16(h + i));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, load_f16x16_masked(h + i, m));
  }
}

void from_float_f16(const float* in, void* out, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i r = _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + i), r);
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i r = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_mask_storeu_epi16(h + i, m, r);
  }
}

void to_float_bf16(const void* in, float* out, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, load_bf16x16(h + i));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, load_bf16x16_masked(h + i, m));
  }
}

void from_float_bf16(const float* in, void* out, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + i), f32_to_bf16x16(_mm512_loadu_ps(in + i)));
  }
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm256_mask_storeu_epi16(h + i, m, f32_to_bf16x16(_mm512_maskz_loadu_ps(m, in + i)));
  }
}

}  // namespace hearth::kernels::avx512
