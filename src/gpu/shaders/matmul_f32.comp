#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for F32 weights: rows of n_in floats (any n_in; the last unit may be short).
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint c0 = u * 32u;
  const uint w0 = (row_byte >> 2) + c0;
  for (uint j = 0u; j < 32u; ++j) {
    v[j] = 0.0;
    if (c0 + j < p.n_in) v[j] = uintBitsToFloat(W[w0 + j]);
  }
}

#include "matmul_main.glsl"
