#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q5_K weights: super-blocks of 176 bytes (F16 d, F16 dmin, 12 scale bytes, 32
// bytes qh, 128 bytes qs). As Q4_K, plus the fifth bit of value 32j + l: bit j of qh[l].
#include "matmul_head.glsl"
#include "kquant_scales.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint j = u & 7u;
  const uint a = row_byte + (u >> 3) * 176u;
  uint sc, m;
  k4_scale_min(a + 4u, j, sc, m);
  const float dl = half_at(a) * float(sc);
  const float ml = half_at(a + 2u) * float(m);
  const uint qh = a + 16u;
  const uint qs = a + 48u + 32u * (j >> 1);
  const uint shift = (j & 1u) * 4u;
  for (uint w = 0u; w < 8u; ++w) {
    const uint lo = word_at(qs + 4u * w) >> shift;
    const uint hi = word_at(qh + 4u * w) >> j;
    for (uint b = 0u; b < 4u; ++b) {
      const uint q = ((lo >> (8u * b)) & 15u) | (((hi >> (8u * b)) & 1u) << 4);
      v[4u * w + b] = dl * float(q) - ml;
    }
  }
}

#include "matmul_main.glsl"
