// Scalar reference kernels of Q2_K and Q3_K, and the K-quant helpers of kquants_common.h.
//
// Q2_K / Q3_K share the 2-bit layout of qs: the 256 values form two halves of 128; in half h,
// byte qs[32h + l] holds, in bits (2k, 2k+1), the code of value 128h + 32k + l (k = 0..3, l < 32).
// Q3_K's third bit of value 32m + l (m = 0..7) is bit m of hmask[l]; when it is CLEAR the code
// is lowered by 4 (codes −4..3). Q2_K: scales[j] = min << 4 | scale for sub-block j of 16 values.
// Q3_K: 16 6-bit scales biased by 32: low nibble in scales[j] (j < 8) or the high nibble of
// scales[j − 8] (j ≥ 8), top 2 bits in bits 2·(j/4) of scales[8 + j%4].

#include "engine/kernels/half.h"
#include "engine/kernels/kquants_common.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::reference {

void k_to_float(const KUnpacked& k, float* out) {
  for (int g = 0; g < QK_K / 16; ++g) {
    const float dl = k.d * static_cast<float>(k.scale[g]);
    const float ml = k.dmin * static_cast<float>(k.min[g]);
    for (int l = 0; l < 16; ++l) out[16 * g + l] = dl * static_cast<float>(k.code[16 * g + l]) - ml;
  }
}

float k_dot(const KUnpacked& k, const block_q8_K& x) {
  int32_t isum = 0;
  int32_t msum = 0;
  for (int g = 0; g < QK_K / 16; ++g) {
    int32_t s = 0;
    for (int l = 0; l < 16; ++l) s += k.code[16 * g + l] * x.qs[16 * g + l];
    isum += k.scale[g] * s;
    msum += k.min[g] * x.bsums[g];
  }
  return (k.d * x.d) * static_cast<float>(isum) - (k.dmin * x.d) * static_cast<float>(msum);
}

namespace {

// The 2-bit codes of a Q2_K / Q3_K qs array, in value order.
void unpack_2bit(const uint8_t* qs, int8_t* code) {
  for (int h = 0; h < 2; ++h) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        code[128 * h + 32 * k + l] = static_cast<int8_t>((qs[32 * h + l] >> (2 * k)) & 3);
      }
    }
  }
}

void unpack_q2_k(const block_q2_K& b, KUnpacked& k) {
  unpack_2bit(b.qs, k.code);
  for (int g = 0; g < 16; ++g) {
    k.scale[g] = b.scales[g] & 0x0f;
    k.min[g] = b.scales[g] >> 4;
  }
  k.d = f16_to_f32(b.d);
  k.dmin = f16_to_f32(b.dmin);
}

void unpack_q3_k(const block_q3_K& b, KUnpacked& k) {
  unpack_2bit(b.qs, k.code);
  for (int i = 0; i < QK_K; ++i) {
    const int m = i / 32;
    const int l = i % 32;
    if (!((b.hmask[l] >> m) & 1)) k.code[i] = static_cast<int8_t>(k.code[i] - 4);
  }
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (b.scales[j] & 0x0f) : (b.scales[j - 8] >> 4);
    const int high = (b.scales[8 + j % 4] >> (2 * (j / 4))) & 3;
    k.scale[j] = (low | (high << 4)) - 32;
    k.min[j] = 0;
  }
  k.d = f16_to_f32(b.d);
  k.dmin = 0;
}

}  // namespace

void to_float_q2_k(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q2_K*>(in);
  KUnpacked k;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack_q2_k(b[i], k);
    k_to_float(k, out + i * QK_K);
  }
}

float vec_dot_q2_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q2_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  KUnpacked k;
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack_q2_k(a[i], k);
    sum += k_dot(k, b[i]);
  }
  return sum;
}

void to_float_q3_k(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q3_K*>(in);
  KUnpacked k;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack_q3_k(b[i], k);
    k_to_float(k, out + i * QK_K);
  }
}

float vec_dot_q3_k_q8_k(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q3_K*>(w);
  const auto* b = static_cast<const block_q8_K*>(x);
  KUnpacked k;
  float sum = 0;
  for (int64_t i = 0; i < n / QK_K; ++i) {
    unpack_q3_k(a[i], k);
    sum += k_dot(k, b[i]);
  }
  return sum;
}

}  // namespace hearth::kernels::reference
