#version 450
#extension GL_GOOGLE_include_directive : require
// Grouped-query attention over the KV cache, read in place. One workgroup per (token t, query
// head h); KV head g = h / (H / Hkv). The cells lo[t] ≤ j < hi[t] of the token's list
// (cells[base[t] + j]) are taken 64 at a time: invocation i scores cell j0 + i (q·k · scale),
// then, with an online softmax (running max m and sum l, rescaled by e^(m_old − m_new)), every
// invocation adds the tile's p_j·v_j to its share of the D output values (d = lid + 64r).
// Every tile is reduced in the same fixed order, so a row's result depends only on its own
// query and cells. K/V rows are F32 or F16 words (f16: two halves per word).
#include "common.glsl"

layout(std430, binding = 0) readonly buffer QBuf { float Q[]; };
layout(std430, binding = 1) writeonly buffer OutBuf { float OUT[]; };
layout(std430, binding = 2) readonly buffer KBuf { uint K[]; };
layout(std430, binding = 3) readonly buffer VBuf { uint V[]; };
layout(std430, binding = 4) readonly buffer CellBuf { int CELLS[]; };
layout(std430, binding = 5) readonly buffer BaseBuf { int BASE[]; };
layout(std430, binding = 6) readonly buffer LoBuf { int LO[]; };
layout(std430, binding = 7) readonly buffer HiBuf { int HI[]; };
layout(push_constant) uniform Push {
  uint o_q, o_out, o_k, o_v, o_cells, o_base, o_lo, o_hi, groups;
  uint n_head, n_head_kv, head_dim, row_words, f16;
  float scale;
} p;

const uint MAX_D = 512u;   // head_dim ≤ 512: 8 output values per invocation
const float LOWEST = -3.0e38;
shared float qs[MAX_D];
shared float prob[64];
shared uint cell_row[64];  // word offset of each tile cell's row

// Element d of the head's row starting at word w.
float kv_at(uint w, uint d, bool is_k) {
  const uint word = is_k ? K[w + (p.f16 != 0u ? d >> 1 : d)] : V[w + (p.f16 != 0u ? d >> 1 : d)];
  if (p.f16 != 0u) return unpackHalf2x16(word >> ((d & 1u) * 16u)).x;
  return uintBitsToFloat(word);
}

void main() {
  const uint gid = group_id();
  if (gid >= p.groups) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint D = p.head_dim;
  const uint h = gid % p.n_head;
  const uint t = gid / p.n_head;
  const uint g = h / (p.n_head / p.n_head_kv);
  const uint head_words = p.f16 != 0u ? g * D / 2u : g * D;
  const uint qb = p.o_q + (t * p.n_head + h) * D;
  for (uint d = lid; d < D; d += WG) qs[d] = Q[qb + d];
  const int lo = LO[p.o_lo + t];
  const int hi = HI[p.o_hi + t];
  const uint base = uint(BASE[p.o_base + t]);
  barrier();

  float m = LOWEST;
  float l = 0.0;
  float acc[8];
  [[unroll]] for (uint r = 0u; r < 8u; ++r) acc[r] = 0.0;
  for (int j0 = lo; j0 < hi; j0 += int(WG)) {
    const int j = j0 + int(lid);
    const bool valid = j < hi;
    float s = LOWEST;
    if (valid) {
      const uint row = uint(CELLS[p.o_cells + base + uint(j)]) * p.row_words + head_words;
      cell_row[lid] = row;
      float dot = 0.0;
      for (uint d = 0u; d < D; ++d) dot += qs[d] * kv_at(p.o_k + row, d, true);
      s = dot * p.scale;
    }
    prob[lid] = s;
    barrier();
    float tile_max = LOWEST;
    for (uint i = 0u; i < WG; ++i) tile_max = max(tile_max, prob[i]);
    const float m_new = max(m, tile_max);
    const float correction = exp(m - m_new);
    barrier();
    prob[lid] = valid ? exp(s - m_new) : 0.0;
    barrier();
    float tile_sum = 0.0;
    const uint n = uint(min(hi - j0, int(WG)));
    for (uint i = 0u; i < n; ++i) tile_sum += prob[i];
    l = l * correction + tile_sum;
    [[unroll]] for (uint r = 0u; r < 8u; ++r) {
      const uint d = lid + r * WG;
      if (d < D) {
        float a = acc[r] * correction;
        for (uint i = 0u; i < n; ++i) a += prob[i] * kv_at(p.o_v + cell_row[i], d, false);
        acc[r] = a;
      }
    }
    m = m_new;
    barrier();
  }
  const uint ob = p.o_out + (t * p.n_head + h) * D;
  [[unroll]] for (uint r = 0u; r < 8u; ++r) {
    const uint d = lid + r * WG;
    if (d < D) OUT[ob + d] = l > 0.0 ? acc[r] / l : 0.0;
  }
}
