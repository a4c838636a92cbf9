// Scalar reference kernels of the 8-bit activation types Q8_0, Q8_1 and Q8_K.
//
// The quantizers reproduce what llama.cpp's CPU backend does to activations on x86 (conformance
// README §5.1), because the ".ref.json" references were computed with exactly that rounding:
//   Q8_0 / Q8_1 (blocks of 32): d = amax/127 stored as F16, q = round_half_even(x · (127/amax))
//     with the multiplier computed in F32 from amax itself (not from the F16-rounded d);
//     Q8_1 also stores s = F16(d · Σq) with the unrounded F32 d.
//   Q8_K (blocks of 256): x_max = the first element of largest magnitude, iscale = −127/x_max,
//     q = min(127, round_half_even(iscale · x)), d = 1/iscale kept in F32, bsums = Σq per 16.
// Rounding uses std::nearbyint, i.e. the default round-to-nearest-even mode.
#include <cmath>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/half.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::reference {

namespace {

// Quantizes 32 values to int8 the Q8_0 way; returns the F32 scale d (before F16 rounding).
float quantize_32(const float* x, int8_t* q) {
  float amax = 0;
  for (int j = 0; j < QK8_0; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  for (int j = 0; j < QK8_0; ++j) q[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
  return d;
}

}  // namespace

void to_float_q8_0(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q8_0*>(in);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < QK8_0; ++j) out[i * QK8_0 + j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void from_float_q8_0(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_0*>(out);
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    b[i].d = f32_to_f16(quantize_32(in + i * QK8_0, b[i].qs));
  }
}

float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const block_q8_0*>(w);
  const auto* b = static_cast<const block_q8_0*>(x);
  float sum = 0;
  for (int64_t i = 0; i < n / QK8_0; ++i) {
    int32_t isum = 0;
    for (int j = 0; j < QK8_0; ++j) isum += a[i].qs[j] * b[i].qs[j];
    sum += static_cast<float>(isum) * (f16_to_f32(a[i].d) * f16_to_f32(b[i].d));
  }
  return sum;
}

void to_float_q8_1(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q8_1*>(in);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int j = 0; j < QK8_1; ++j) out[i * QK8_1 + j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

void from_float_q8_1(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_1*>(out);
  for (int64_t i = 0; i < n / QK8_1; ++i) {
    const float d = quantize_32(in + i * QK8_1, b[i].qs);
    int32_t sum = 0;
    for (int j = 0; j < QK8_1; ++j) sum += b[i].qs[j];
    b[i].d = f32_to_f16(d);
    b[i].s = f32_to_f16(d * static_cast<float>(sum));
  }
}

void to_float_q8_k(const void* in, float* out, int64_t n) {
  const auto* b = static_cast<const block_q8_K*>(in);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    for (int j = 0; j < QK_K; ++j) out[i * QK_K + j] = b[i].d * static_cast<float>(b[i].qs[j]);
  }
}

void from_float_q8_k(const float* in, void* out, int64_t n) {
  auto* b = static_cast<block_q8_K*>(out);
  for (int64_t i = 0; i < n / QK_K; ++i) {
    const float* x = in + i * QK_K;
    block_q8_K& y = b[i];
    float amax = 0;
    float max = 0;
    for (int j = 0; j < QK_K; ++j) {
      if (std::fabs(x[j]) > amax) {  // strict: the first element of largest magnitude wins
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.f) {
      std::memset(&y, 0, sizeof(y));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < QK_K; ++j) {
      const float v = std::nearbyint(iscale * x[j]);
      y.qs[j] = static_cast<int8_t>(v < 127.f ? v : 127.f);
    }
    for (int g = 0; g < QK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += y.qs[g * 16 + j];
      y.bsums[g] = static_cast<int16_t>(sum);
    }
    y.d = 1 / iscale;
  }
}

}  // namespace hearth::kernels::reference
