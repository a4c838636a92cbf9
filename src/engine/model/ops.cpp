#include "engine/model/ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/kernels/attention.h"
#include "engine/kernels/half.h"

namespace hearth::model {

void linear(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            const kernels::MatmulOptions& options) {
  kernels::matmul(w, x, n_tokens, y, options);
}

void rmsnorm(const float* x, const float* weight, float* out, int n, float eps) {
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

void rope_angles(int pos, int head_dim, float base, std::span<const float> freq_div, float* cos,
                 float* sin, float freq_scale) {
  const float step = std::pow(base, -2.0f / static_cast<float>(head_dim));
  float theta = static_cast<float>(pos);
  for (int i = 0; i < head_dim / 2; ++i) {
    float angle = freq_div.empty() ? theta : theta / freq_div[static_cast<size_t>(i)];
    if (freq_scale != 1.0f) angle *= freq_scale;
    cos[i] = std::cos(angle);
    sin[i] = std::sin(angle);
    theta *= step;
  }
}

void rope_apply(float* x, int n_heads, int head_dim, RopeStyle style, const float* cos,
                const float* sin) {
  const int half = head_dim / 2;
  // Pair i rotates x[first(i)] with x[first(i) + offset].
  const int offset = style == RopeStyle::neox ? half : 1;
  for (int h = 0; h < n_heads; ++h) {
    float* head = x + static_cast<ptrdiff_t>(h) * head_dim;
    for (int i = 0; i < half; ++i) {
      float* p = head + (style == RopeStyle::neox ? i : 2 * i);
      const float x0 = p[0];
      const float x1 = p[offset];
      p[0] = x0 * cos[i] - x1 * sin[i];
      p[offset] = x0 * sin[i] + x1 * cos[i];
    }
  }
}

void softmax(float* x, int n) {
  float max = -INFINITY;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += static_cast<double>(x[i]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* g, const float* u, float* out, int n) {
  for (int i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

namespace {

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535588f;
  constexpr float kCubic = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCubic * x * x)));
}

// gelu of every F16 value (indexed by its bits), rounded to F16; built once.
const std::vector<uint16_t>& gelu_f16_table() {
  static const std::vector<uint16_t> table = [] {
    std::vector<uint16_t> t(65536);
    for (uint32_t bits = 0; bits < 65536; ++bits)
      t[bits] = kernels::f32_to_f16(gelu_tanh(kernels::f16_to_f32(static_cast<uint16_t>(bits))));
    return t;
  }();
  return table;
}

}  // namespace

void geglu(const float* g, const float* u, float* out, int n, bool f16_table) {
  if (!f16_table) {
    for (int i = 0; i < n; ++i) out[i] = gelu_tanh(g[i]) * u[i];
    return;
  }
  const std::vector<uint16_t>& table = gelu_f16_table();
  for (int i = 0; i < n; ++i) {
    const float x = g[i];
    float y;
    if (x <= -10.0f) {
      y = 0.0f;
    } else if (x >= 10.0f) {
      y = x;
    } else {
      y = kernels::f16_to_f32(table[kernels::f32_to_f16(x)]);
    }
    out[i] = y * u[i];
  }
}

void attend(const float* q, const float* k, const float* v, int n, int head_dim, int stride,
            float scale, float* scores, float* out) {
  for (int j = 0; j < n; ++j) {
    const float* kj = k + static_cast<ptrdiff_t>(j) * stride;
    float dot = 0;
    for (int d = 0; d < head_dim; ++d) dot += q[d] * kj[d];
    scores[j] = dot * scale;
  }
  softmax(scores, n);
  std::fill(out, out + head_dim, 0.0f);
  for (int j = 0; j < n; ++j) {
    const float* vj = v + static_cast<ptrdiff_t>(j) * stride;
    for (int d = 0; d < head_dim; ++d) out[d] += scores[j] * vj[d];
  }
}

void attend_rows(const float* const* q, float* const* out, const int* lo, const int* hi, int nq,
                 int head_dim, const KvHead& kv, float scale, kernels::KernelSet set) {
  thread_local std::vector<float> scratch;
  const size_t need = kernels::attention_scratch_floats(
      std::min(nq, kernels::kAttentionMaxRows), head_dim);
  if (scratch.size() < need) scratch.resize(need);
  kernels::AttentionBlock b;
  b.head_dim = head_dim;
  b.scale = scale;
  b.k = static_cast<const char*>(kv.k);
  b.v = static_cast<const char*>(kv.v);
  b.stride = static_cast<size_t>(kv.stride);
  b.cells = kv.cells;
  if (kv.type == KvType::f16) {
    b.to_float = kernels::type_ops(kernels::TensorType::f16, set)->to_float;
    b.f16 = true;
  }
  if (kv.type == KvType::q8_0)
    b.to_float = kernels::type_ops(kernels::TensorType::q8_0, set)->to_float;
  b.scratch = scratch.data();
  const kernels::AttentionKernel kernel = kernels::attention_kernel(set);
  for (int i = 0; i < nq; i += kernels::kAttentionMaxRows) {
    b.nq = std::min(kernels::kAttentionMaxRows, nq - i);
    b.q = q + i;
    b.out = out + i;
    b.lo = lo + i;
    b.hi = hi + i;
    kernel(b);
  }
}

}  // namespace hearth::model
