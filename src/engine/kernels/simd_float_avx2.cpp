// AVX2 + FMA + F16C kernels for the float types: F32, F16 and BF16 dot products and the F16 /
// BF16 conversions. Compiled with -mavx2 -mfma -mf16c: only kernels live here (helpers in an
// anonymous namespace, exported kernels in hearth::kernels::avx2), no shared inline code, and
// nothing here runs before cpu_features() has confirmed AVX2/FMA/F16C (see simd_tables.h).
// simd_install.cpp stores the addresses of the exported kernels in the avx2 table.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace hearth::kernels::avx2 {
namespace {

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

inline __m256 load_bf16x8(const uint16_t* p) {
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

inline float bf16_scalar(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// ggml's F32 -> BF16: round to nearest even, NaN -> quiet NaN (as half.cpp's f32_to_bf16).
inline __m128i f32_to_bf16x8(__m256 v) {
  const __m256i x = _mm256_castps_si256(v);
  const __m256i ax = _mm256_and_si256(x, _mm256_set1_epi32(0x7fffffff));
  const __m256i is_nan = _mm256_cmpgt_epi32(ax, _mm256_set1_epi32(0x7f800000));
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(64));
  const __m256i r = _mm256_blendv_epi8(rounded, nan, is_nan);
  // 8 x u32 (all < 65536) -> 8 x u16
  const __m128i lo = _mm256_castsi256_si128(r);
  const __m128i hi = _mm256_extracti128_si256(r, 1);
  return _mm_packus_epi32(lo, hi);
}

inline uint16_t f32_to_bf16_scalar(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 64);
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

// Σ a[i]·b[i] over two rows of a 16-bit float format (F16 or BF16): widened 8 at a time by Load,
// the tail by Scalar, four accumulators to hide the FMA latency.
template <__m256 (*Load)(const uint16_t*), float (*Scalar)(uint16_t)>
float dot_16bit(int64_t n, const void* w, const void* x) {
  const uint16_t* a = static_cast<const uint16_t*>(w);
  const uint16_t* b = static_cast<const uint16_t*>(x);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps();
  __m256 acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(Load(a + i), Load(b + i), acc0);
    acc1 = _mm256_fmadd_ps(Load(a + i + 8), Load(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(Load(a + i + 16), Load(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(Load(a + i + 24), Load(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(Load(a + i), Load(b + i), acc0);
  float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += Scalar(a[i]) * Scalar(b[i]);
  return sum;
}

float f16_scalar(uint16_t h) {
  return _cvtsh_ss(h);
}

}  // namespace

float vec_dot_f32(int64_t n, const void* w, const void* x) {
  const float* a = static_cast<const float*>(w);
  const float* b = static_cast<const float*>(x);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps();
  __m256 acc3 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float vec_dot_f16(int64_t n, const void* w, const void* x) {
  return dot_16bit<load_f16x8, f16_scalar>(n, w, x);
}

float vec_dot_bf16(int64_t n, const void* w, const void* x) {
  return dot_16bit<load_bf16x8, bf16_scalar>(n, w, x);
}

void to_float_f16(const void* in, float* out, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load_f16x8(h + i));
  for (; i < n; ++i) out[i] = _cvtsh_ss(h[i]);
}

void from_float_f16(const float* in, void* out, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i r = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), r);
  }
  for (; i < n; ++i) h[i] = _cvtss_sh(in[i], _MM_FROUND_TO_NEAREST_INT);
}

void to_float_bf16(const void* in, float* out, int64_t n) {
  const uint16_t* h = static_cast<const uint16_t*>(in);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load_bf16x8(h + i));
  for (; i < n; ++i) out[i] = bf16_scalar(h[i]);
}

void from_float_bf16(const float* in, void* out, int64_t n) {
  uint16_t* h = static_cast<uint16_t*>(out);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), f32_to_bf16x8(_mm256_loadu_ps(in + i)));
  }
  for (; i < n; ++i) h[i] = f32_to_bf16_scalar(in[i]);
}

}  // namespace hearth::kernels::avx2
