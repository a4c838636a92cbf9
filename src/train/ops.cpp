#include "train/ops.h"

#include <algorithm>
#include <cmath>

#include "train/parallel.h"

namespace hearth::train::ops {

void rmsnorm_forward(const float* x, const float* w, int64_t rows, int n, float eps, float* y,
                     float* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    const float s = 1.0f / std::sqrt(static_cast<float>(sum / n) + eps);
    rstd[r] = s;
    for (int i = 0; i < n; ++i) y[r * n + i] = (xr[i] * s) * w[i];
  }
}

void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd,
                      int64_t rows, int n, float* dx) {
  // y_i = x_i·s·w_i with s = (mean(x²)+eps)^(-1/2), ∂s/∂x_j = −s³·x_j/n:
  // dx_j = s·w_j·dy_j − (s³/n)·x_j·Σ_i dy_i·w_i·x_i.
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float* dyr = dy + r * n;
    const float s = rstd[r];
    double dot = 0;
    for (int i = 0; i < n; ++i) dot += static_cast<double>(dyr[i] * w[i] * xr[i]);
    const float k = static_cast<float>(dot) * s * s * s / static_cast<float>(n);
    for (int i = 0; i < n; ++i) dx[r * n + i] += s * w[i] * dyr[i] - k * xr[i];
  }
}

RopeTable rope_table(int64_t n_pos, int head_dim, float base, std::span<const float> freq_div) {
  RopeTable table;
  table.head_dim = head_dim;
  const int half = head_dim / 2;
  table.cos.resize(static_cast<size_t>(n_pos * half));
  table.sin.resize(table.cos.size());
  const float step = std::pow(base, -2.0f / static_cast<float>(head_dim));
  for (int64_t p = 0; p < n_pos; ++p) {
    float theta = static_cast<float>(p);
    for (int i = 0; i < half; ++i) {
      const float angle = freq_div.empty() ? theta : theta / freq_div[static_cast<size_t>(i)];
      table.cos[static_cast<size_t>(p * half + i)] = std::cos(angle);
      table.sin[static_cast<size_t>(p * half + i)] = std::sin(angle);
      theta *= step;
    }
  }
  return table;
}

namespace {

// Rotates by the table's angle times `sign` (+1 forward, −1 for the gradient).
void rope_rotate(float* x, int64_t T, int n_heads, model::RopeStyle style, const RopeTable& rope,
                 float sign) {
  const int D = rope.head_dim;
  const int half = D / 2;
  const int offset = style == model::RopeStyle::neox ? half : 1;
  for (int64_t t = 0; t < T; ++t) {
    const float* cs = &rope.cos[static_cast<size_t>(t * half)];
    const float* sn = &rope.sin[static_cast<size_t>(t * half)];
    for (int h = 0; h < n_heads; ++h) {
      float* head = x + (t * n_heads + h) * D;
      for (int i = 0; i < half; ++i) {
        float* p = head + (style == model::RopeStyle::neox ? i : 2 * i);
        const float x0 = p[0];
        const float x1 = p[offset];
        const float s = sign * sn[i];
        p[0] = x0 * cs[i] - x1 * s;
        p[offset] = x0 * s + x1 * cs[i];
      }
    }
  }
}

// Eight partial sums, so that the compiler can use vector instructions (a single running sum
// fixes the order of the additions and forbids it).
float dot(const float* a, const float* b, int n) {
  float acc[8] = {};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

}  // namespace

void rope_forward(float* x, int64_t T, int n_heads, model::RopeStyle style, const RopeTable& rope) {
  rope_rotate(x, T, n_heads, style, rope, 1.0f);
}

void rope_backward(float* d, int64_t T, int n_heads, model::RopeStyle style,
                   const RopeTable& rope) {
  rope_rotate(d, T, n_heads, style, rope, -1.0f);
}

void attention_forward(const float* q, const float* k, const float* v, int64_t T,
                       const AttentionShape& s, float* out, float* lse, ThreadPool* pool) {
  const int D = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t q_row = static_cast<int64_t>(s.n_head) * D;
  const int64_t kv_row = static_cast<int64_t>(s.n_head_kv) * D;
  for_ranges(pool, s.n_head, [&](int64_t h_begin, int64_t h_end) {
    std::vector<float> p(static_cast<size_t>(T));
    for (int64_t h = h_begin; h < h_end; ++h) {
      const int64_t g = h / group;
      for (int64_t t = 0; t < T; ++t) {
        const float* qt = q + t * q_row + h * D;
        float max = -INFINITY;
        for (int64_t j = 0; j <= t; ++j) {
          p[j] = scale * dot(qt, k + j * kv_row + g * D, D);
          max = std::max(max, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j <= t; ++j) {
          p[j] = std::exp(p[j] - max);
          sum += p[j];
        }
        lse[h * T + t] = max + static_cast<float>(std::log(sum));
        const float inv = static_cast<float>(1.0 / sum);
        float* ot = out + t * q_row + h * D;
        std::fill(ot, ot + D, 0.0f);
        for (int64_t j = 0; j <= t; ++j) {
          const float pj = p[j] * inv;
          const float* vj = v + j * kv_row + g * D;
          for (int d = 0; d < D; ++d) ot[d] += pj * vj[d];
        }
      }
    }
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v,
                        const float* lse, int64_t T, const AttentionShape& s, float* dq, float* dk,
                        float* dv, ThreadPool* pool) {
  // o = Σ_j P_j v_j with P = softmax(scale·q·k_j): dP_j = do·v_j, dv_j += P_j·do,
  // ds_j = P_j·(dP_j − Σ_i P_i·dP_i), dq += scale·Σ_j ds_j·k_j, dk_j += scale·ds_j·q.
  // Split by KV head: the query heads that share one write its dk and dv.
  const int D = s.head_dim;
  const int group = s.n_head / s.n_head_kv;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const int64_t q_row = static_cast<int64_t>(s.n_head) * D;
  const int64_t kv_row = static_cast<int64_t>(s.n_head_kv) * D;
  for_ranges(pool, s.n_head_kv, [&](int64_t g_begin, int64_t g_end) {
    std::vector<float> p(static_cast<size_t>(T)), dp(static_cast<size_t>(T));
    for (int64_t g = g_begin; g < g_end; ++g)
      for (int64_t h = g * group; h < (g + 1) * group; ++h)
        for (int64_t t = 0; t < T; ++t) {
          const float* qt = q + t * q_row + h * D;
          const float* dot_ = dout + t * q_row + h * D;
          const float l = lse[h * T + t];
          float sum = 0;
          for (int64_t j = 0; j <= t; ++j) {
            p[j] = std::exp(scale * dot(qt, k + j * kv_row + g * D, D) - l);
            dp[j] = dot(dot_, v + j * kv_row + g * D, D);
            sum += p[j] * dp[j];
          }
          float* dqt = dq + t * q_row + h * D;
          for (int64_t j = 0; j <= t; ++j) {
            float* dvj = dv + j * kv_row + g * D;
            for (int d = 0; d < D; ++d) dvj[d] += p[j] * dot_[d];
            const float ds = scale * p[j] * (dp[j] - sum);
            const float* kj = k + j * kv_row + g * D;
            float* dkj = dk + j * kv_row + g * D;
            for (int d = 0; d < D; ++d) {
              dqt[d] += ds * kj[d];
              dkj[d] += ds * qt[d];
            }
          }
        }
  });
}

void swiglu_forward(const float* g, const float* u, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void swiglu_backward(const float* dout, const float* g, const float* u, int64_t n, float* dg,
                     float* du) {
  // silu(g) = g·σ(g), silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
  for (int64_t i = 0; i < n; ++i) {
    const float sig = 1.0f / (1.0f + std::exp(-g[i]));
    du[i] += dout[i] * g[i] * sig;
    dg[i] += dout[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
  }
}

void add_bias(float* y, const float* b, int64_t rows, int n) {
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < n; ++i) y[r * n + i] += b[i];
}

double cross_entropy(const float* logits, int64_t T, int V, std::span<const int> targets,
                     float* dlogits) {
  int64_t n_targets = 0;
  for (int64_t t = 0; t < T; ++t) n_targets += targets[static_cast<size_t>(t)] >= 0;
  if (dlogits) std::fill(dlogits, dlogits + T * V, 0.0f);
  if (n_targets == 0) return 0;
  double total = 0;
  for (int64_t t = 0; t < T; ++t) {
    const int target = targets[static_cast<size_t>(t)];
    if (target < 0) continue;
    const float* row = logits + t * V;
    const float max = *std::max_element(row, row + V);
    double sum = 0;
    for (int i = 0; i < V; ++i) sum += std::exp(static_cast<double>(row[i] - max));
    const double lse = max + std::log(sum);
    total += lse - row[target];
    if (dlogits) {
      float* d = dlogits + t * V;
      const double inv_n = 1.0 / static_cast<double>(n_targets);
      for (int i = 0; i < V; ++i) d[i] = static_cast<float>(std::exp(row[i] - lse) * inv_n);
      d[target] -= static_cast<float>(inv_n);
    }
  }
  return total / static_cast<double>(n_targets);
}

}  // namespace hearth::train::ops
