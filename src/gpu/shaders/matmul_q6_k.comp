#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q6_K weights: super-blocks of 210 bytes (128 ql, 64 qh, 16 int8 scales, F16 d).
// Unit u covers values 32k .. 32k+31 (k = u % 8) of block u / 8: half h = k / 4, quarter
// q = k % 4 of that half. Value l of the quarter: low (q < 2) or high nibble of
// ql[64h + 32·(q % 2) + l], top bits (qh[32h + l] >> 2q) & 3; code − 32, times d·scale of its
// 16 values.
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint k = u & 7u;
  const uint h = k >> 2;
  const uint q = k & 3u;
  const uint a = row_byte + (u >> 3) * 210u;
  const float d = half_at(a + 208u);
  const uint ql = a + 64u * h + 32u * (q & 1u);
  const uint qh = a + 128u + 32u * h;
  const uint shift = (q >> 1) * 4u;
  const float d0 = d * float(sbyte_at(a + 192u + 8u * h + 2u * q));
  const float d1 = d * float(sbyte_at(a + 192u + 8u * h + 2u * q + 1u));
  for (uint w = 0u; w < 8u; ++w) {
    const uint lo = word_at(ql + 4u * w) >> shift;
    const uint hi = word_at(qh + 4u * w) >> (2u * q);
    const float dw = w < 4u ? d0 : d1;
    for (uint b = 0u; b < 4u; ++b) {
      const uint code = ((lo >> (8u * b)) & 15u) | (((hi >> (8u * b)) & 3u) << 4);
      v[4u * w + b] = dw * float(int(code) - 32);
    }
  }
}

#include "matmul_main.glsl"
