#version 450
#extension GL_GOOGLE_include_directive : require
// dst[t][i] = src[t][i] for i < n, rows src_stride and dst_stride floats apart.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer SrcBuf { float SRC[]; };
layout(std430, binding = 1) writeonly buffer DstBuf { float DST[]; };
layout(push_constant) uniform Push { uint o_src, o_dst, groups, total, n, src_stride, dst_stride; } p;

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint i = idx % p.n;
  const uint t = idx / p.n;
  DST[p.o_dst + t * p.dst_stride + i] = SRC[p.o_src + t * p.src_stride + i];
}
