// Shared shape of the K-quant super-blocks (internal): every Q2_K..Q6_K block of 256 values
// unpacks to signed integer codes, one scale and one min per 16 values, and two F32 factors:
//   value[i] = (d·scale[i/16])·code[i] − (dmin·min[i/16])
// (Q3_K and Q6_K have no mins: min = 0, dmin = 0; the F32 arithmetic then matches ggml's
// dequantization bit for bit, since x − 0 = x.) Types with sub-blocks of 32 repeat each scale.
#pragma once

#include <cstdint>

#include "engine/kernels/blocks.h"

namespace hearth::kernels::reference {

struct KUnpacked {
  int8_t code[QK_K];
  int scale[QK_K / 16];
  int min[QK_K / 16];
  float d;
  float dmin;
};

// Dequantizes one unpacked super-block into out[256].
void k_to_float(const KUnpacked& k, float* out);
// d_w·d_x·Σ scale·Σ code·q − dmin_w·d_x·Σ min·bsums: exact integer sums, combined in F32.
float k_dot(const KUnpacked& k, const block_q8_K& x);

}  // namespace hearth::kernels::reference
