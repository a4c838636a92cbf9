#version 450
#extension GL_GOOGLE_include_directive : require
// out[t][i] = gelu(g[t][i]) · u[t][i], GELU in the tanh form
// 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))); the tanh argument is clamped to ±10, where tanh is 1
// in F32 already, so no implementation overflows inside tanh.
// T rows of F values; g and u rows in_stride floats apart (2F for a fused gate+up row), out rows
// F apart.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer GBuf { float G[]; };
layout(std430, binding = 1) readonly buffer UBuf { float U[]; };
layout(std430, binding = 2) writeonly buffer OutBuf { float OUT[]; };
layout(push_constant) uniform Push { uint o_g, o_u, o_out, groups, total, f, in_stride; } p;

float act(float x) {
  const float inner = 0.79788456080286535588 * x * (1.0 + 0.044715 * x * x);  // as the CPU
  return 0.5 * x * (1.0 + tanh(clamp(inner, -10.0, 10.0)));
}

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint i = idx % p.f;
  const uint t = idx / p.f;
  OUT[p.o_out + idx] = act(G[p.o_g + t * p.in_stride + i]) * U[p.o_u + t * p.in_stride + i];
}
