#include "engine/kernels/half.h"

#include <bit>

namespace hearth::kernels {

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0) {
    // Zero or subnormal: mant · 2^-24, exact in F32.
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return std::bit_cast<float>(std::bit_cast<uint32_t>(v) | sign);
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t ax = x & 0x7fffffff;
  if (ax > 0x7f800000) {  // NaN: quiet it, keep the top 10 mantissa bits
    return static_cast<uint16_t>(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
  }
  // 65520 = 0x477ff000 is halfway between 65504 (odd mantissa) and 65536: ties round up to inf.
  if (ax >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);
  const uint32_t e = ax >> 23;
  uint32_t q;
  uint32_t rem;
  uint32_t half;
  if (e >= 113) {  // normal half: drop 13 mantissa bits; a carry may bump the exponent (fine)
    q = ((e - 112) << 10) | ((ax & 0x7fffff) >> 13);
    rem = ax & 0x1fff;
    half = 0x1000;
  } else {                     // subnormal half: units of 2^-24; value = mant · 2^(e-150)
    if (e < 102) return sign;  // below 2^-25: rounds to zero (2^-25 itself is a tie -> 0)
    const uint32_t mant = (ax & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - e;  // 14..24
    q = mant >> shift;
    rem = mant & ((1u << shift) - 1);
    half = 1u << (shift - 1);
  }
  if (rem > half || (rem == half && (q & 1))) ++q;
  return static_cast<uint16_t>(sign | q);
}

float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 64);  // quiet NaN
  return static_cast<uint16_t>((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

}  // namespace hearth::kernels
