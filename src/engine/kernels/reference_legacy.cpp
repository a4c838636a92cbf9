// Scalar reference kernels of the 32-value block types Q4_0, Q4_1, Q5_0, Q5_1 and IQ4_NL.
//
// All share one nibble layout: byte qs[j] (j < 16) holds value j in its low nibble and value
// j + 16 in its high nibble. Q5 types take bit 4 of value i from bit i of the 32-bit word qh.
// Dequantization: Q4_0 d·(q−8), Q4_1 d·q+m, Q5_0 d·(q−16), Q5_1 d·q+m, IQ4_NL d·kvalues[q].
// Dots against Q8_0 / Q8_1 blocks: an exact integer Σ q_w·q_x per block, then scaled in F32;
// the Q8_1 partner's s = d_x·Σq_x carries the weight block's offset m.
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/half.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::reference {

namespace {

// The 32 unsigned 4-bit codes of a block, in value order.
void unpack_nibbles(const uint8_t* qs, int q[32]) {
  for (int j = 0; j < 16; ++j) {
    q[j] = qs[j] & 0x0f;
    q[j + 16] = qs[j] >> 4;
  }
}

// The 32 unsigned 5-bit codes of a Q5 block.
void unpack_5bit(const uint8_t* qs, const uint8_t* qh_bytes, int q[32]) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, sizeof(qh));
  unpack_nibbles(qs, q);
  for (int j = 0; j < 32; ++j) q[j] |= static_cast<int>((qh >> j) & 1) << 4;
}

int32_t dot_32(const int q[32], int offset, const int8_t* x) {
  int32_t sum = 0;
  for (int j = 0; j < 32; ++j) sum += (q[j] - offset) * x[j];
  return sum;
}

}  // namespace

void to_float_q4_0(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q4_0*>(in);
  int q[32];
  for (int64_t i = 0; i < n / QK4_0; ++i, out += QK4_0) {
    const float d = f16_to_f32(b[i].d);
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(q[j] - 8) * d;
  }
}

float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  int q[32];
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_0; ++i) {
    unpack_nibbles(a[i].qs, q);
    const int32_t isum = dot_32(q, 8, b[i].qs);
    sum += static_cast<float>(isum) * f16_to_f32(a[i].d) * f16_to_f32(b[i].d);
  }
  return sum;
}

void to_float_q4_1(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q4_1*>(in);
  int q[32];
  for (int64_t i = 0; i < n / QK4_1; ++i, out += QK4_1) {
    const float d = f16_to_f32(b[i].d);
    const float m = f16_to_f32(b[i].m);
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(q[j]) * d + m;
  }
}

float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q4_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  int q[32];
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_1; ++i) {
    unpack_nibbles(a[i].qs, q);
    const int32_t isum = dot_32(q, 0, b[i].qs);
    sum += (f16_to_f32(a[i].d) * f16_to_f32(b[i].d)) * static_cast<float>(isum) +
           f16_to_f32(a[i].m) * f16_to_f32(b[i].s);
  }
  return sum;
}

void to_float_q5_0(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q5_0*>(in);
  int q[32];
  for (int64_t i = 0; i < n / QK5_0; ++i, out += QK5_0) {
    const float d = f16_to_f32(b[i].d);
    unpack_5bit(b[i].qs, b[i].qh, q);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(q[j] - 16) * d;
  }
}

float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  int q[32];
  float sum = 0;
  for (int64_t i = 0; i < n / QK5_0; ++i) {
    unpack_5bit(a[i].qs, a[i].qh, q);
    const int32_t isum = dot_32(q, 16, b[i].qs);
    sum += (f16_to_f32(a[i].d) * f16_to_f32(b[i].d)) * static_cast<float>(isum);
  }
  return sum;
}

void to_float_q5_1(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q5_1*>(in);
  int q[32];
  for (int64_t i = 0; i < n / QK5_1; ++i, out += QK5_1) {
    const float d = f16_to_f32(b[i].d);
    const float m = f16_to_f32(b[i].m);
    unpack_5bit(b[i].qs, b[i].qh, q);
    for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(q[j]) * d + m;
  }
}

float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q5_1*>(w);
  const auto* b = static_cast<const block_q8_1*>(x);
  int q[32];
  float sum = 0;
  for (int64_t i = 0; i < n / QK5_1; ++i) {
    unpack_5bit(a[i].qs, a[i].qh, q);
    const int32_t isum = dot_32(q, 0, b[i].qs);
    sum += (f16_to_f32(a[i].d) * f16_to_f32(b[i].d)) * static_cast<float>(isum) +
           f16_to_f32(a[i].m) * f16_to_f32(b[i].s);
  }
  return sum;
}

void to_float_iq4_nl(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_iq4_nl*>(in);
  int q[32];
  for (int64_t i = 0; i < n / QK4_NL; ++i, out += QK4_NL) {
    const float d = f16_to_f32(b[i].d);
    unpack_nibbles(b[i].qs, q);
    for (int j = 0; j < 32; ++j) out[j] = d * static_cast<float>(kvalues_iq4nl[q[j]]);
  }
}

float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_iq4_nl*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  int q[32];
  float sum = 0;
  for (int64_t i = 0; i < n / QK4_NL; ++i) {
    unpack_nibbles(a[i].qs, q);
    for (int j = 0; j < 32; ++j) q[j] = kvalues_iq4nl[q[j]];
    const int32_t isum = dot_32(q, 0, b[i].qs);
    sum += (f16_to_f32(a[i].d) * f16_to_f32(b[i].d)) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace hearth::kernels::reference
