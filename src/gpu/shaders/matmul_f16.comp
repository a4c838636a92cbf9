#version 450
#extension GL_GOOGLE_include_directive : require
// y = W x for F16 weights: rows of n_in halves, widened with unpackHalf2x16 (no float16
// device feature needed). Any n_in; rows of odd length start at 2 mod 4.
#include "matmul_head.glsl"

void load_unit(uint row_byte, uint u, inout float v[32]) {
  const uint c0 = u * 32u;
  if (c0 + 32u <= p.n_in) {
    for (uint w = 0u; w < 16u; ++w) {
      const vec2 pair = unpackHalf2x16(word_at(row_byte + c0 * 2u + 4u * w));
      v[2u * w] = pair.x;
      v[2u * w + 1u] = pair.y;
    }
  } else {
    // The short last unit of a row: value by value, zeros past n_in.
    for (uint j = 0u; j < 32u; ++j) {
      v[j] = 0.0;
      if (c0 + j < p.n_in) v[j] = half_at(row_byte + (c0 + j) * 2u);
    }
  }
}

#include "matmul_main.glsl"
