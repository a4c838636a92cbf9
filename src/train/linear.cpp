#include "train/linear.h"

#include <algorithm>
#include <vector>

#include "train/parallel.h"

namespace hearth::train {

void linear_forward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                    int64_t T, float* y, float* u, const kernels::MatmulOptions& options) {
  kernels::matmul(w, x, T, y, options);
  if (!lora) return;
  const int64_t n_in = w.n_in, n_out = w.n_out, r = lora->rank;
  // The kernel set's F32 dot product (the scalar reference sums in double, SIMD sets in F32).
  const kernels::TypeOps* f32 = kernels::type_ops(gguf::TensorType::f32, options.kernels);
  for_ranges(options.pool, T, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const float* xt = x + t * n_in;
      float* ut = u + t * r;
      for (int64_t k = 0; k < r; ++k) ut[k] = f32->vec_dot(n_in, lora->a + k * n_in, xt);
      float* yt = y + t * n_out;
      for (int64_t o = 0; o < n_out; ++o) {
        const float* bo = lora->b + o * r;
        float sum = 0;
        for (int64_t k = 0; k < r; ++k) sum += bo[k] * ut[k];
        yt[o] += lora->scale * sum;
      }
    }
  });
}

void linear_backward(const kernels::WeightMatrix& w, const LoraBinding* lora, const float* x,
                     const float* u, const float* dy, int64_t T, float* dx,
                     const kernels::MatmulOptions& options) {
  const int64_t n_in = w.n_in, n_out = w.n_out;
  if (dx) {
    // dx += Wᵀdy as forward products through the kernels: W's rows a slab at a time, dequantized
    // and transposed into an F32 matrix of n_in rows (never more than kSlab rows of W in F32).
    constexpr int64_t kSlab = 256;
    const int64_t slab_rows = std::min(kSlab, n_out);
    // Scratch kept per thread between calls: large buffers allocated afresh each time would
    // cost a page fault per 4 KiB.
    static thread_local std::vector<float> wt, dys, part;
    wt.resize(static_cast<size_t>(slab_rows * n_in));
    dys.resize(static_cast<size_t>(T * slab_rows));
    part.resize(static_cast<size_t>(T * n_in));
    float* const wt_rows = wt.data();  // a lambda run on another thread would see its own wt
    for (int64_t o0 = 0; o0 < n_out; o0 += kSlab) {
      const int64_t rows = std::min(kSlab, n_out - o0);
      for_ranges(options.pool, rows, [&](int64_t begin, int64_t end) {
        std::vector<float> row(static_cast<size_t>(n_in));
        for (int64_t r = begin; r < end; ++r) {
          kernels::dequantize_row(w, o0 + r, row.data());
          for (int64_t c = 0; c < n_in; ++c) wt_rows[c * rows + r] = row[static_cast<size_t>(c)];
        }
      });
      for (int64_t t = 0; t < T; ++t)
        std::copy_n(dy + t * n_out + o0, rows, &dys[static_cast<size_t>(t * rows)]);
      const kernels::WeightMatrix slab{gguf::TensorType::f32, wt.data(), rows, n_in};
      kernels::matmul(slab, dys.data(), T, part.data(), options);
      for (int64_t i = 0; i < T * n_in; ++i) dx[i] += part[static_cast<size_t>(i)];
    }
  }
  if (!lora) return;
  // The factors' gradients sum over all tokens; they are rank-sized, so this stays serial.
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
