#version 450
#extension GL_GOOGLE_include_directive : require
// RoPE in place: one invocation per pair (token t, head h, pair i), angles from the tables
// cos/sin[t·D/2 + i]. normal pairs (2i, 2i+1); neox pairs (i, i + D/2).
#include "common.glsl"

layout(std430, binding = 0) buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer CosBuf { float COS[]; };
layout(std430, binding = 2) readonly buffer SinBuf { float SIN[]; };
layout(push_constant) uniform Push {
  uint o_x, o_cos, o_sin, groups;
  uint n_pairs, n_heads, head_dim, row_stride, neox;
} p;

void main() {
  const uint idx = item_id();
  if (idx >= p.n_pairs) return;
  const uint half_d = p.head_dim / 2u;
  const uint i = idx % half_d;
  const uint h = (idx / half_d) % p.n_heads;
  const uint t = idx / (half_d * p.n_heads);
  const uint head = p.o_x + t * p.row_stride + h * p.head_dim;
  const uint ia = head + (p.neox != 0u ? i : 2u * i);
  const uint ib = ia + (p.neox != 0u ? half_d : 1u);
  const float c = COS[p.o_cos + t * half_d + i];
  const float s = SIN[p.o_sin + t * half_d + i];
  const float a = X[ia];
  const float b = X[ib];
  X[ia] = a * c - b * s;
  X[ib] = a * s + b * c;
}
