#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q8_0 weights: blocks of 34 bytes, F16 d then 32 int8 codes; v = d·q.
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint a = row_byte + u * 34u;
  const float d = half_at(a);
  for (uint w = 0u; w < 8u; ++w) {
    const uint q = word_at(a + 2u + 4u * w);
    for (uint b = 0u; b < 4u; ++b) v[4u * w + b] = float(int(q << (24u - 8u * b)) >> 24) * d;
  }
}

#include "matmul_main.glsl"
