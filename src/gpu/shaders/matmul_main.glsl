// The body of every matmul shader; the including file defines
//   void load_unit(uint row_byte, uint u, inout float v[32])
// which dequantizes values 32u .. 32u+31 of the weight row starting at byte row_byte.
//
// One workgroup per output row. The row's 32-value units are dealt to the 64 invocations in a
// fixed pattern (unit u to invocation u % 64); each invocation sums its units for up to NT tokens
// at once, so a weight unit is read once per NT tokens; a shared-memory tree then adds the 64
// partial sums. A token's result does not depend on how many tokens share the workgroup.
// EXPERTS: items are the T·K slots, each with its own expert's row (ids), x row slot / K; no
// two slots share a weight row, so they are taken one at a time (NT = 1, a smaller shader).
#ifdef EXPERTS
const uint NT = 1u;
#else
const uint NT = 8u;
#endif
shared float partial[NT * 64u];

// Σ v[j]·x[xb + j] over the unit's nv values, in j order.
float dot_unit(float v[32], uint xb, uint nv) {
  float sum = 0.0;
  for (uint j = 0u; j < nv; ++j) sum += v[j] * X[xb + j];
  return sum;
}

void main() {
  const uint row = group_id();
  if (row >= p.groups) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint units = (p.n_in + 31u) / 32u;
  const uint w_base = p.o_w * 4u;
  float v[32];
  for (uint i0 = 0u; i0 < p.n_items; i0 += NT) {
    const uint nt = min(NT, p.n_items - i0);
    float acc[NT];
    [[unroll]] for (uint i = 0u; i < NT; ++i) acc[i] = 0.0;
    for (uint u = lid; u < units; u += WG) {
      const uint c0 = u * 32u;
      const uint nv = min(32u, p.n_in - c0);
#ifdef EXPERTS
      [[unroll]] for (uint i = 0u; i < NT; ++i) {
        if (i < nt) {
          const uint s = i0 + i;
          const uint e = min(uint(IDS[p.o_ids + s]), p.n_expert - 1u);
          load_unit(w_base + e * p.expert_stride + row * p.row_bytes, u, v);
          const uint xb = p.o_x + (s / p.k) * p.n_in + c0;
          acc[i] += dot_unit(v, xb, nv);
        }
      }
#else
      load_unit(w_base + row * p.row_bytes, u, v);
      [[unroll]] for (uint i = 0u; i < NT; ++i) {
        if (i < nt) {
          const uint xb = p.o_x + (i0 + i) * p.n_in + c0;
          acc[i] += dot_unit(v, xb, nv);
        }
      }
#endif
    }
    [[unroll]] for (uint i = 0u; i < NT; ++i) partial[i * WG + lid] = acc[i];
    barrier();
    for (uint s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        [[unroll]] for (uint i = 0u; i < NT; ++i) partial[i * WG + lid] += partial[i * WG + lid + s];
      }
      barrier();
    }
    if (lid < nt) Y[p.o_y + (i0 + lid) * p.n_out + row] = partial[lid * WG];
    barrier();
  }
}
