#version 450
#extension GL_GOOGLE_include_directive : require
// out[r][i] = x[r][i] / sqrt(mean_i(x[r][i]²) + eps) · weight[i]. One workgroup per row; the
// sum of squares is split over the 64 invocations (value i to invocation i % 64) and added by a
// shared-memory tree, so the order is fixed. out may be x (each value is read before it is
// written, by the same invocation).
#include "common.glsl"

layout(std430, binding = 0) buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer WBuf { float Wt[]; };
layout(std430, binding = 2) buffer OutBuf { float OUT[]; };
layout(push_constant) uniform Push { uint o_x, o_w, o_out, groups, n; float eps; } p;

shared float part[64];

void main() {
  const uint row = group_id();
  if (row >= p.groups) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint xb = p.o_x + row * p.n;
  float s = 0.0;
  for (uint i = lid; i < p.n; i += WG) s += X[xb + i] * X[xb + i];
  part[lid] = s;
  barrier();
  for (uint h = WG / 2u; h > 0u; h >>= 1u) {
    if (lid < h) part[lid] += part[lid + h];
    barrier();
  }
  const float scale = 1.0 / sqrt(part[0] / float(p.n) + p.eps);
  const uint ob = p.o_out + row * p.n;
  for (uint i = lid; i < p.n; i += WG) OUT[ob + i] = (X[xb + i] * scale) * Wt[p.o_w + i];
}
