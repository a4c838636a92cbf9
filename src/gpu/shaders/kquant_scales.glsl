// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block whose 12 packed scale
// bytes start at byte s: j < 4 take the low 6 bits of bytes j and j + 4; j ≥ 4 take a nibble of
// byte j + 4 and the top two bits of bytes j − 4 (scale) and j (min).
void k4_scale_min(uint s, uint j, out uint sc, out uint m) {
  if (j < 4u) {
    sc = byte_at(s + j) & 63u;
    m = byte_at(s + j + 4u) & 63u;
  } else {
    const uint hi = byte_at(s + j + 4u);
    sc = (hi & 15u) | ((byte_at(s + j - 4u) >> 6) << 4);
    m = (hi >> 4) | ((byte_at(s + j) >> 6) << 4);
  }
}
