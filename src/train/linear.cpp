#include "train/linear.h"

#include <vector>

namespace hearth::train {

void linear_forward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                    int64_t T, float* y, float* u, const kernels::MatmulOptions& options) {
  kernels::matmul(w, x, T, y, options);
  if (!lora) return;
  const int64_t n_in = w.n_in, n_out = w.n_out, r = lora->rank;
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * n_in;
    float* ut = u + t * r;
    for (int64_t k = 0; k < r; ++k) {
      const float* ak = lora->a + k * n_in;
      float sum = 0;
      for (int64_t c = 0; c < n_in; ++c) sum += ak[c] * xt[c];
      ut[k] = sum;
    }
    float* yt = y + t * n_out;
    for (int64_t o = 0; o < n_out; ++o) {
      const float* bo = lora->b + o * r;
      float sum = 0;
      for (int64_t k = 0; k < r; ++k) sum += bo[k] * ut[k];
      yt[o] += lora->scale * sum;
    }
  }
}

void linear_backward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                     const float* u, const float* dy, int64_t T, float* dx) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
  if (dx) {
    // dx[t] += Σ_o dy[t][o]·W[o], one dequantized row of W at a time.
    std::vector<float> row(static_cast<size_t>(n_in));
    for (int64_t o = 0; o < n_out; ++o) {
      kernels::dequantize_row(w, o, row.data());
      for (int64_t t = 0; t < T; ++t) {
        const float g = dy[t * n_out + o];
        if (g == 0.0f) continue;
        float* dxt = dx + t * n_in;
        for (int64_t c = 0; c < n_in; ++c) dxt[c] += g * row[static_cast<size_t>(c)];
      }
    }
  }
  if (!lora) return;
  const int64_t r = lora->rank;
  const float s = lora->scale;
  std::vector<float> du(static_cast<size_t>(r));
  for (int64_t t = 0; t < T; ++t) {
    const float* dyt = dy + t * n_out;
    const float* ut = u + t * r;
    // du = s·Bᵀdy; grad_b[o] += s·dy[o]·u.
    std::fill(du.begin(), du.end(), 0.0f);
    for (int64_t o = 0; o < n_out; ++o) {
      const float g = s * dyt[o];
      const float* bo = lora->b + o * r;
      for (int64_t k = 0; k < r; ++k) du[static_cast<size_t>(k)] += g * bo[k];
      if (lora->grad_b) {
        float* gbo = lora->grad_b + o * r;
        for (int64_t k = 0; k < r; ++k) gbo[k] += g * ut[k];
      }
    }
    const float* xt = x + t * n_in;
    for (int64_t k = 0; k < r; ++k) {
      const float g = du[static_cast<size_t>(k)];
      if (lora->grad_a) {
        float* gak = lora->grad_a + k * n_in;
        for (int64_t c = 0; c < n_in; ++c) gak[c] += g * xt[c];
      }
      if (dx) {
        const float* ak = lora->a + k * n_in;
        float* dxt = dx + t * n_in;
        for (int64_t c = 0; c < n_in; ++c) dxt[c] += g * ak[c];
      }
    }
  }
}

}  // namespace hearth::train
