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
    // and transposed into an F32 matrix of n_in rows. A slab holds about 16 MiB of F32 (at least
    // 256 rows): large enough that adding each slab's product into dx costs little, small enough
    // that no matrix is ever whole in F32.
    const int64_t slab = std::min(n_out, std::max<int64_t>(256, (int64_t{4} << 20) / n_in));
    // Scratch kept per thread between calls: large buffers allocated afresh each time would
    // cost a page fault per 4 KiB.
    static thread_local std::vector<float> wt, dys, part;
    wt.resize(static_cast<size_t>(slab * n_in));
    dys.resize(static_cast<size_t>(T * slab));
    part.resize(static_cast<size_t>(T * n_in));
    float* const wt_rows = wt.data();  // a lambda run on another thread would see its own wt
    for (int64_t o0 = 0; o0 < n_out; o0 += slab) {
      const int64_t rows = std::min(slab, n_out - o0);
      // In groups of 16 rows, so that the transposed writes fill whole cache lines.
      constexpr int64_t kGroup = 16;
      for_ranges(options.pool, (rows + kGroup - 1) / kGroup, [&](int64_t begin, int64_t end) {
        static thread_local std::vector<float> block;  // the running thread's own
        block.resize(static_cast<size_t>(kGroup * n_in));
        for (int64_t g = begin; g < end; ++g) {
          const int64_t r0 = g * kGroup, n = std::min(kGroup, rows - r0);
          for (int64_t k = 0; k < n; ++k)
            kernels::dequantize_row(w, o0 + r0 + k, &block[static_cast<size_t>(k * n_in)]);
          for (int64_t c = 0; c < n_in; ++c)
            for (int64_t k = 0; k < n; ++k)
              wt_rows[c * rows + r0 + k] = block[static_cast<size_t>(k * n_in + c)];
        }
      });
      for (int64_t t = 0; t < T; ++t)
        std::copy_n(dy + t * n_out + o0, rows, &dys[static_cast<size_t>(t * rows)]);
      const kernels::WeightMatrix transposed{gguf::TensorType::f32, wt.data(), rows, n_in};
      kernels::matmul(transposed, dys.data(), T, part.data(), options);
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
