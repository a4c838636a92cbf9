#version 450
#extension GL_GOOGLE_include_directive : require
// out[i] = a[i] + b[i]; out may be a or b.
#include "common.glsl"

layout(std430, binding = 0) buffer ABuf { float A[]; };
layout(std430, binding = 1) buffer BBuf { float B[]; };
layout(std430, binding = 2) buffer OutBuf { float OUT[]; };
layout(push_constant) uniform Push { uint o_a, o_b, o_out, groups, n; } p;

void main() {
  const uint i = item_id();
  if (i < p.n) OUT[p.o_out + i] = A[p.o_a + i] + B[p.o_b + i];
}
