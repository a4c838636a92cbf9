// Block-layout helpers shared by the AVX-512 kernel files (simd_quant_avx512.cpp,
// simd_quant_multi_avx512.cpp): F16 scale gathers, scale spreading and nibble unpacking.
//
// Internal, and only for translation units compiled with the AVX-512 flags (*_avx512.cpp): the
// helpers sit in an anonymous namespace, so every such file gets its own copy and no AVX-512
// code can be picked by the linker for a caller elsewhere (see blocks.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace hearth::kernels::avx512 {
namespace {

// The F16 words at word offsets 0, s, 2s, 3s of the 64 bytes at p (s·3 < 32) as 4 floats.
template <int s>
inline __m128 scales4_near(const void* p) {
  const __m512i idx = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0, 0, 0, 0, 3 * s, 2 * s, s, 0);
  const __m512i h = _mm512_permutexvar_epi16(idx, _mm512_loadu_si512(p));
  return _mm_cvtph_ps(_mm512_castsi512_si128(h));
}

// The F16 words at word offsets o, o+s, o+2s, o+3s from p as 4 floats: one field of 4
// consecutive blocks of 2s bytes. Reads only those 8s (≥ 64) bytes: the first 64 and, for words
// beyond them, the 64 ending at the 4th block's end (or at 128 when the blocks reach that far).
template <int s, int o>
inline __m128 field4(const void* p) {
  constexpr int total = 8 * s;
  static_assert(total >= 64 && o + 3 * s < total / 2);
  constexpr int second = total >= 128 ? 64 : total - 64;  // byte offset of the second load
  constexpr auto at = [](int w) { return w < 32 ? w : 32 + (w - second / 2); };
  constexpr auto loaded = [](int w) { return w < 32 || (w >= second / 2 && w - second / 2 < 32); };
  static_assert(loaded(o) && loaded(o + s) && loaded(o + 2 * s) && loaded(o + 3 * s));
  const __m512i idx =
      _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                       0, 0, at(o + 3 * s), at(o + 2 * s), at(o + s), at(o));
  const auto* b = static_cast<const uint8_t*>(p);
  const __m512i h =
      _mm512_permutex2var_epi16(_mm512_loadu_si512(b), idx, _mm512_loadu_si512(b + second));
  return _mm_cvtph_ps(_mm512_castsi512_si128(h));
}

// Per-block scales s[0..3] spread over two vectors: (s0 ×8, s1 ×8) and (s2 ×8, s3 ×8).
inline void spread4(__m128 s, __m512& s01, __m512& s23) {
  const __m512 v = _mm512_castps128_ps512(s);
  s01 = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), v);
  s23 = _mm512_permutexvar_ps(_mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2), v);
}

// The 64 codes of two Q4_0-style nibble arrays (16 bytes each) as bytes 0..15 in value order.
inline __m512i nibbles64(const uint8_t* qs0, const uint8_t* qs1) {
  const __m256i a =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0)));
  const __m256i b =
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)));
  const __m512i t = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);  // [A, A, B, B]
  const __m512i shifted = _mm512_srlv_epi64(t, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0));
  return _mm512_and_si512(shifted, _mm512_set1_epi8(0x0f));
}

}  // namespace
}  // namespace hearth::kernels::avx512
