#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q4_0 weights: blocks of 18 bytes, F16 d then 16 bytes; byte j holds value j in
// its low nibble and value j + 16 in its high nibble; v = d·(q − 8).
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint a = row_byte + u * 18u;
  const float d = half_at(a);
  for (uint w = 0u; w < 4u; ++w) {
    const uint q = word_at(a + 2u + 4u * w);
    for (uint b = 0u; b < 4u; ++b) {
      const uint j = 4u * w + b;
      v[j] = float(int((q >> (8u * b)) & 15u) - 8) * d;
      v[j + 16u] = float(int((q >> (8u * b + 4u)) & 15u) - 8) * d;
    }
  }
}

#include "matmul_main.glsl"
