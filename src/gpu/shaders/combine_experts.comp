#version 450
#extension GL_GOOGLE_include_directive : require
// out[t][i] = Σ_k weights[t·K + k] · y[t·K + k][i], summed in rank order (k = 0 first).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer YBuf { float Y[]; };
layout(std430, binding = 1) readonly buffer WeightBuf { float WEIGHTS[]; };
layout(std430, binding = 2) writeonly buffer OutBuf { float OUT[]; };
layout(push_constant) uniform Push { uint o_y, o_weights, o_out, groups, total, k, n; } p;

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint i = idx % p.n;
  const uint t = idx / p.n;
  const uint s0 = t * p.k;
  float s = Y[p.o_y + s0 * p.n + i] * WEIGHTS[p.o_weights + s0];
  for (uint k = 1u; k < p.k; ++k) s += Y[p.o_y + (s0 + k) * p.n + i] * WEIGHTS[p.o_weights + s0 + k];
  OUT[p.o_out + t * p.n + i] = s;
}
