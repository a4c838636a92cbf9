// F32 -> F16 bits rounded to nearest even, written out in integer arithmetic because
// packHalf2x16 leaves the rounding to the implementation. Overflow gives ±inf, NaN stays NaN.
uint f32_to_f16(float f) {
  const uint x = floatBitsToUint(f);
  const uint sign = (x >> 16) & 0x8000u;
  const uint e = (x >> 23) & 0xffu;
  uint m = x & 0x7fffffu;
  if (e == 255u) return sign | 0x7c00u | (m != 0u ? 0x200u | (m >> 13) : 0u);
  const int ex = int(e) - 112;  // the F16 biased exponent
  if (ex >= 31) return sign | 0x7c00u;
  if (ex <= 0) {
    // A subnormal F16 (or zero): h units of 2^-24 from the 24-bit significand.
    if (ex < -10) return sign;
    m |= 0x800000u;
    const uint shift = uint(14 - ex);
    uint h = m >> shift;
    const uint rem = m & ((1u << shift) - 1u);
    const uint halfway = 1u << (shift - 1u);
    if (rem > halfway || (rem == halfway && (h & 1u) != 0u)) h += 1u;
    return sign | h;
  }
  uint h = (uint(ex) << 10) | (m >> 13);
  const uint rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) != 0u)) h += 1u;  // a carry may reach inf
  return sign | h;
}
