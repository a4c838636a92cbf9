#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q4_K weights: super-blocks of 144 bytes (F16 d, F16 dmin, 12 scale bytes, 128
// bytes of nibbles) and 256 values; unit u is sub-block j = u % 8 of block u / 8:
// v = (d·scale_j)·q − dmin·min_j, q the low (j even) or high (j odd) nibbles of bytes
// 32·(j/2) .. +31 of qs.
#include "matmul_head.glsl"
#include "kquant_scales.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint j = u & 7u;
  const uint a = row_byte + (u >> 3) * 144u;
  uint sc, m;
  k4_scale_min(a + 4u, j, sc, m);
  const float dl = half_at(a) * float(sc);
  const float ml = half_at(a + 2u) * float(m);
  const uint qs = a + 16u + 32u * (j >> 1);
  const uint shift = (j & 1u) * 4u;
  for (uint w = 0u; w < 8u; ++w) {
    const uint q = word_at(qs + 4u * w) >> shift;
    for (uint b = 0u; b < 4u; ++b) v[4u * w + b] = dl * float((q >> (8u * b)) & 15u) - ml;
  }
}

#include "matmul_main.glsl"
