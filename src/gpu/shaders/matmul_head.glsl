// Bindings, push constants and byte readers of the matmul shaders (matmul_<type>.comp).
//
// The weight matrix is read as uint words: blocks of Q4_0 (18 B), Q8_0 (34 B) and Q6_K (210 B)
// do not start on 4-byte boundaries, so bytes and F16 halves are taken from words with shifts.
// Every F16 field of every block type sits at an even byte address, so a half never straddles
// two words; runs of code bytes are read 4 at a time with word_at. Byte addresses are relative to the start of the weight binding.
#include "common.glsl"

layout(std430, binding = 0) readonly buffer WeightBuf { uint W[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
#ifdef EXPERTS
layout(std430, binding = 2) readonly buffer IdBuf { int IDS[]; };
layout(std430, binding = 3) writeonly buffer YBuf { float Y[]; };
layout(push_constant) uniform Push {
  uint o_w, o_x, o_ids, o_y, groups;
  uint n_in, n_out, row_bytes, n_items;  // n_items = T·K slots
  uint k, expert_stride, n_expert;
} p;
#else
layout(std430, binding = 2) writeonly buffer YBuf { float Y[]; };
layout(push_constant) uniform Push {
  uint o_w, o_x, o_y, groups;
  uint n_in, n_out, row_bytes, n_items;  // n_items = T tokens
} p;
#endif

uint byte_at(uint a) { return (W[a >> 2] >> ((a & 3u) * 8u)) & 0xffu; }
int sbyte_at(uint a) { return int(byte_at(a) << 24) >> 24; }
float half_at(uint a) { return unpackHalf2x16(W[a >> 2] >> ((a & 2u) * 8u)).x; }
// The 4 bytes at even address a as one little-endian word (from two words when a is 2 mod 4).
uint word_at(uint a) {
  const uint i = a >> 2;
  return (a & 2u) == 0u ? W[i] : (W[i] >> 16) | (W[i + 1u] << 16);
}
