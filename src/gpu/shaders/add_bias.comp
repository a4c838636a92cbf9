#version 450
#extension GL_GOOGLE_include_directive : require
// x[t][i] += bias[i]: T rows of `stride` floats, n bias values.
#include "common.glsl"

layout(std430, binding = 0) buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer BiasBuf { float BIAS[]; };
layout(push_constant) uniform Push { uint o_x, o_bias, groups, total, n, stride; } p;

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint i = idx % p.n;
  const uint t = idx / p.n;
  X[p.o_x + t * p.stride + i] += BIAS[p.o_bias + i];
}
