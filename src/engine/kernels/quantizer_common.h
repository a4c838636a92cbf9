// Helpers shared by the weight quantizers, quantizer_*.cpp (internal to the kernels library).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/kernels/half.h"

namespace hearth::kernels::quantizer {

// Blocks whose largest magnitude is below this are written as zeros (llama.cpp's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest, ties to even, through the 1.5·2^23 trick (exact for |v| ≤ 2^22, which every
// caller guarantees for finite data). Defined for any input: NaN and huge values give garbage
// that the callers clamp.
inline int nearest_int(float v) {
  const float t = v + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

// C's float -> integer conversion (truncation toward zero), as x86's cvttss2si does it: NaN and
// out-of-range values give INT32_MIN instead of undefined behaviour.
inline int32_t truncate_to_int(float v) {
  if (!(v > -2147483648.f && v < 2147483648.f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}

inline uint16_t to_f16(float v) { return kernels::f32_to_f16(v); }
inline float from_f16(uint16_t h) { return kernels::f16_to_f32(h); }

}  // namespace hearth::kernels::quantizer
