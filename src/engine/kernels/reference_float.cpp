// Scalar reference kernels of the plain float types F32, F16 and BF16.
//
// The dot products sum the F32 products in double, as ggml's generic ggml_vec_dot_f32 / _f16
// do (ggml_float is double), and return the sum rounded to F32.
#include <cstring>

#include "engine/kernels/half.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::reference {

void to_float_f32(const void* in, float* out, int64_t n) {
  std::memcpy(out, in, static_cast<size_t>(n) * sizeof(float));
}

void from_float_f32(const float* in, void* out, int64_t n) {
  std::memcpy(out, in, static_cast<size_t>(n) * sizeof(float));
}

float vec_dot_f32(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(a[i] * b[i]);
  return static_cast<float>(sum);
}

void to_float_f16(const void* in, float* out, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(in);
  for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(h[i]);
}

void from_float_f16(const float* in, void* out, int64_t n) {
  auto* h = static_cast<uint16_t*>(out);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(in[i]);
}

float vec_dot_f16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(f16_to_f32(a[i]) * f16_to_f32(b[i]));
  return static_cast<float>(sum);
}

void to_float_bf16(const void* in, float* out, int64_t n) {
  const auto* h = static_cast<const uint16_t*>(in);
  for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(h[i]);
}

void from_float_bf16(const float* in, void* out, int64_t n) {
  auto* h = static_cast<uint16_t*>(out);
  for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(in[i]);
}

float vec_dot_bf16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += static_cast<double>(bf16_to_f32(a[i]) * bf16_to_f32(b[i]));
  }
  return static_cast<float>(sum);
}

}  // namespace hearth::kernels::reference
