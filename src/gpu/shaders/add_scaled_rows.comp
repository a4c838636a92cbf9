#version 450
#extension GL_GOOGLE_include_directive : require
// y[t][i] += scale · mask[t] · x[t][i], T rows of n values (a LoRA term for some rows).
#include "common.glsl"

layout(std430, binding = 0) buffer YBuf { float Y[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) readonly buffer MaskBuf { float MASK[]; };
layout(push_constant) uniform Push { uint o_y, o_x, o_mask, groups, total, n; float scale; } p;

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint t = idx / p.n;
  Y[p.o_y + idx] += p.scale * MASK[p.o_mask + t] * X[p.o_x + idx];
}
