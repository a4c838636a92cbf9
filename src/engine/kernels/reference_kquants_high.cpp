// Scalar reference kernels of Q4_K, Q5_K and Q6_K.
//
// Q4_K / Q5_K: 8 sub-blocks of 32 values with 6-bit scales and mins packed in 12 bytes
// (k4_scale_min). qs is 4 chunks of 32 bytes: chunk c holds value 64c + l in the low nibble of
// qs[32c + l] and value 64c + 32 + l in the high nibble. Q5_K's fifth bit of value 32j + l is
// bit j of qh[l]. value = d·scale·q − dmin·min.
// Q6_K: 16 int8 scales, one per 16 values; codes q − 32 with q 6 bits: in half h (values
// 128h..128h+127), ql[64h + l] low nibble -> value l, ql[64h + 32 + l] low -> l + 32, their high
// nibbles -> l + 64 and l + 96; the top two bits come from qh[32h + l], bits (0-1, 2-3, 4-5, 6-7)
// for (l, l + 32, l + 64, l + 96).
#include "engine/kernels/half.h"
#include "engine/kernels/kquants_common.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::reference {

void k4_scale_min(const uint8_t* s, int j, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = s[j] & 63;
    *min = s[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

namespace {

// Scales, mins and the low 4 bits of the codes of a Q4_K / Q5_K block.
void unpack_4bit_k(uint16_t d, uint16_t dmin, const uint8_t* scales, const uint8_t* qs,
                   KUnpacked& k) {
  for (int j = 0; j < 8; ++j) {
    uint8_t sc;
    uint8_t m;
    k4_scale_min(scales, j, &sc, &m);
    k.scale[2 * j] = k.scale[2 * j + 1] = sc;
    k.min[2 * j] = k.min[2 * j + 1] = m;
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      k.code[64 * c + l] = static_cast<int8_t>(qs[32 * c + l] & 0x0f);
      k.code[64 * c + 32 + l] = static_cast<int8_t>(qs[32 * c + l] >> 4);
    }
  }
  k.d = f16_to_f32(d);
  k.dmin = f16_to_f32(dmin);
}

void unpack_q4_k(const block_q4_K& b, KUnpacked& k) {
  unpack_4bit_k(b.d, b.dmin, b.scales, b.qs, k);
}

void unpack_q5_k(const block_q5_K& b, KUnpacked& k) {
  unpack_4bit_k(b.d, b.dmin, b.scales, b.qs, k);
  for (int i = 0; i < QK_K; ++i) {
    k.code[i] = static_cast<int8_t>(k.code[i] | (((b.qh[i % 32] >> (i / 32)) & 1) << 4));
  }
}

void unpack_q6_k(const block_q6_K& b, KUnpacked& k) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    int8_t* code = k.code + 128 * h;
    for (int l = 0; l < 32; ++l) {
      code[l] = static_cast<int8_t>(((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32);
      code[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
      code[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      code[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
    }
  }
  for (int g = 0; g < 16; ++g) {
    k.scale[g] = b.scales[g];
    k.min[g] = 0;
  }
  k.d = f16_to_f32(b.d);
  k.dmin = 0;
}

template <typename Block, void (*unpack)(const Block&, KUnpacked&)>
void to_float_k(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const Block*>(in);
  KUnpacked k;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack(b[i], k);
    k_to_float(k, out + i * QK_K);
  }
}

template <typename Block, void (*unpack)(const Block&, KUnpacked&)>
float vec_dot_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  KUnpacked k;
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack(a[i], k);
    sum += k_dot(k, b[i]);
  }
  return sum;
}

}  // namespace

void to_float_q4_k(const void* in, float* out, int64_t n) {
  to_float_k<block_q4_K, unpack_q4_k>(in, out, n);
}
float vec_dot_q4_k_q8_k(int64_t n, const void* w, const void* x) {
  return vec_dot_k<block_q4_K, unpack_q4_k>(n, w, x);
}
void to_float_q5_k(const void* in, float* out, int64_t n) {
  to_float_k<block_q5_K, unpack_q5_k>(in, out, n);
}
float vec_dot_q5_k_q8_k(int64_t n, const void* w, const void* x) {
  return vec_dot_k<block_q5_K, unpack_q5_k>(n, w, x);
}
void to_float_q6_k(const void* in, float* out, int64_t n) {
  to_float_k<block_q6_K, unpack_q6_k>(in, out, n);
}
float vec_dot_q6_k_q8_k(int64_t n, const void* w, const void* x) {
  return vec_dot_k<block_q6_K, unpack_q6_k>(n, w, x);
}

}  // namespace hearth::kernels::reference
