#version 450
#extension GL_GOOGLE_include_directive : require
// Writes T rows of n_kv_dim floats into the KV cache: row t to cell cells[t], at
// cache + cells[t]·row_stride bytes. F32 cells: one value per invocation. F16 cells: a pair of
// values per invocation, so each 32-bit word is written whole by one invocation (the C++ side
// checks that rows and n_kv_dim are even in halves and 4-byte aligned).
#include "common.glsl"
#include "half_round.glsl"

layout(std430, binding = 0) readonly buffer SrcBuf { float SRC[]; };
layout(std430, binding = 1) readonly buffer CellBuf { int CELLS[]; };
layout(std430, binding = 2) writeonly buffer CacheBuf { uint CACHE[]; };
layout(push_constant) uniform Push {
  uint o_src, o_cells, o_cache, groups;
  uint total, per_row, src_stride, row_words, f16;  // per_row: values (F32) or pairs (F16)
} p;

void main() {
  const uint idx = item_id();
  if (idx >= p.total) return;
  const uint i = idx % p.per_row;
  const uint t = idx / p.per_row;
  const uint dst = p.o_cache + uint(CELLS[p.o_cells + t]) * p.row_words + i;
  const uint src = p.o_src + t * p.src_stride;
  if (p.f16 != 0u) {
    CACHE[dst] = f32_to_f16(SRC[src + 2u * i]) | (f32_to_f16(SRC[src + 2u * i + 1u]) << 16);
  } else {
    CACHE[dst] = floatBitsToUint(SRC[src + i]);
  }
}
