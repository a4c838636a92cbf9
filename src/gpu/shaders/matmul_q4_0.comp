#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for Q4_0 weights: blocks of 18 bytes, F16 d then 16 bytes; byte j holds value j in
// its low nibble and value j + 16 in its high nibble; v = d·(q − 8).
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint a = row_byte + u * 18u;
  const float d = half_at(a);
  for (uint j = 0u; j < 16u; ++j) {
    const uint b = byte_at(a + 2u + j);
    v[j] = float(int(b & 15u) - 8) * d;
    v[j + 16u] = float(int(b >> 4) - 8) * d;
  }
}

#include "matmul_main.glsl"
