// The mixture-of-experts FFN for training: router softmax over all experts, the top n_used kept
// and renormalized, output = Σ_k w_k·expert_k(x). Router and experts are frozen (Mixtral's
// adapters are on attention); the gradient flows through the experts and through the routing
// weights into the router's input. The choice of experts is piecewise constant: no gradient.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/block.h"

namespace hearth::train {

namespace {

// The rows (t·K + k) routed to expert e.
std::vector<int64_t> routed_to(const MoeActs& a, int e) {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < static_cast<int64_t>(a.chosen.size()); ++r)
    if (a.chosen[static_cast<size_t>(r)] == e) rows.push_back(r);
  return rows;
}

}  // namespace

void moe_forward(const BlockContext& c, const float* xn, float* out, MoeActs& a) {
  const int64_t T = c.T, E = c.hp.n_embd, F = c.hp.n_ff;
  const int NE = c.hp.n_expert, K = c.hp.n_expert_used;
  a.probs.resize(static_cast<size_t>(T * NE));
  linear_forward(c.w.ffn_router, nullptr, xn, T, a.probs.data(), nullptr, c.options);
  a.chosen.resize(static_cast<size_t>(T * K));
  a.weights.resize(a.chosen.size());
  std::vector<int> order(static_cast<size_t>(NE));
  for (int64_t t = 0; t < T; ++t) {
    float* p = &a.probs[static_cast<size_t>(t * NE)];
    const float max = *std::max_element(p, p + NE);
    double sum = 0;
    for (int e = 0; e < NE; ++e) sum += (p[e] = std::exp(p[e] - max));
    for (int e = 0; e < NE; ++e) p[e] = static_cast<float>(p[e] / sum);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return p[x] > p[y]; });
    float kept = 0;
    for (int k = 0; k < K; ++k) kept += p[order[static_cast<size_t>(k)]];
    for (int k = 0; k < K; ++k) {
      a.chosen[static_cast<size_t>(t * K + k)] = order[static_cast<size_t>(k)];
      a.weights[static_cast<size_t>(t * K + k)] = p[order[static_cast<size_t>(k)]] / kept;
    }
  }
  const size_t slots = static_cast<size_t>(T * K);
  a.gate.resize(slots * static_cast<size_t>(F));
  a.up.resize(a.gate.size());
  a.act.resize(a.gate.size());
  a.out.resize(slots * static_cast<size_t>(E));
  std::vector<float> xs, g, u, act, y;
  for (int e = 0; e < NE; ++e) {
    const std::vector<int64_t> rows = routed_to(a, e);
    if (rows.empty()) continue;
    const auto n = static_cast<int64_t>(rows.size());
    xs.resize(static_cast<size_t>(n * E));
    for (int64_t i = 0; i < n; ++i) std::copy_n(xn + (rows[i] / K) * E, E, &xs[i * E]);
    g.resize(static_cast<size_t>(n * F));
    u.resize(g.size());
    act.resize(g.size());
    y.resize(static_cast<size_t>(n * E));
    linear_forward(c.w.expert_gate[e], nullptr, xs.data(), n, g.data(), nullptr, c.options);
    linear_forward(c.w.expert_up[e], nullptr, xs.data(), n, u.data(), nullptr, c.options);
    ops::swiglu_forward(g.data(), u.data(), n * F, act.data());
    linear_forward(c.w.expert_down[e], nullptr, act.data(), n, y.data(), nullptr, c.options);
    for (int64_t i = 0; i < n; ++i) {
      std::copy_n(&g[i * F], F, &a.gate[rows[i] * F]);
      std::copy_n(&u[i * F], F, &a.up[rows[i] * F]);
      std::copy_n(&act[i * F], F, &a.act[rows[i] * F]);
      std::copy_n(&y[i * E], E, &a.out[rows[i] * E]);
    }
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t col = 0; col < E; ++col) {
      float s = 0;
      for (int k = 0; k < K; ++k)
        s += a.out[(t * K + k) * E + col] * a.weights[static_cast<size_t>(t * K + k)];
      out[t * E + col] = s;
    }
}

void moe_backward(const BlockContext& c, const float* xn, const float* dout, const MoeActs& a,
                  float* dxn) {
  const int64_t T = c.T, E = c.hp.n_embd, F = c.hp.n_ff;
  const int NE = c.hp.n_expert, K = c.hp.n_expert_used;
  // Through the experts: each routed row's output gradient is w_k·dout[t].
  std::vector<float> xs, dy, dact, dg, du, dxs;
  for (int e = 0; e < NE; ++e) {
    const std::vector<int64_t> rows = routed_to(a, e);
    if (rows.empty()) continue;
    const auto n = static_cast<int64_t>(rows.size());
    xs.resize(static_cast<size_t>(n * E));
    dy.resize(xs.size());
    std::vector<float> g(static_cast<size_t>(n * F)), u(g.size()), act(g.size());
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = rows[i] / K;
      std::copy_n(xn + t * E, E, &xs[i * E]);
      const float w = a.weights[static_cast<size_t>(rows[i])];
      for (int64_t col = 0; col < E; ++col) dy[i * E + col] = w * dout[t * E + col];
      std::copy_n(&a.gate[rows[i] * F], F, &g[i * F]);
      std::copy_n(&a.up[rows[i] * F], F, &u[i * F]);
      std::copy_n(&a.act[rows[i] * F], F, &act[i * F]);
    }
    dact.assign(g.size(), 0.0f);
    dg.assign(g.size(), 0.0f);
    du.assign(g.size(), 0.0f);
    dxs.assign(xs.size(), 0.0f);
    linear_backward(c.w.expert_down[e], nullptr, act.data(), nullptr, dy.data(), n, dact.data(),
                    c.options);
    ops::swiglu_backward(dact.data(), g.data(), u.data(), n * F, dg.data(), du.data());
    linear_backward(c.w.expert_gate[e], nullptr, xs.data(), nullptr, dg.data(), n, dxs.data(),
                    c.options);
    linear_backward(c.w.expert_up[e], nullptr, xs.data(), nullptr, du.data(), n, dxs.data(),
                    c.options);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t col = 0; col < E; ++col) dxn[(rows[i] / K) * E + col] += dxs[i * E + col];
  }
  // Through the routing weights: w_k = p_k / S (S the kept probabilities' sum), p = softmax(l).
  std::vector<float> dlogits(static_cast<size_t>(T * NE), 0.0f);
  std::vector<float> dp(static_cast<size_t>(NE));
  for (int64_t t = 0; t < T; ++t) {
    const float* p = &a.probs[static_cast<size_t>(t * NE)];
    float kept = 0, wdw = 0;
    std::vector<float> dw(static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) {
      const int64_t r = t * K + k;
      kept += p[a.chosen[static_cast<size_t>(r)]];
      float s = 0;
      for (int64_t col = 0; col < E; ++col) s += dout[t * E + col] * a.out[r * E + col];
      dw[static_cast<size_t>(k)] = s;
      wdw += a.weights[static_cast<size_t>(r)] * s;
    }
    std::fill(dp.begin(), dp.end(), 0.0f);
    for (int k = 0; k < K; ++k)
      dp[static_cast<size_t>(a.chosen[static_cast<size_t>(t * K + k)])] =
          (dw[static_cast<size_t>(k)] - wdw) / kept;
    float pdp = 0;
    for (int e = 0; e < NE; ++e) pdp += p[e] * dp[static_cast<size_t>(e)];
    for (int e = 0; e < NE; ++e)
      dlogits[static_cast<size_t>(t * NE + e)] = p[e] * (dp[static_cast<size_t>(e)] - pdp);
  }
  linear_backward(c.w.ffn_router, nullptr, xn, nullptr, dlogits.data(), T, dxn, c.options);
}

}  // namespace hearth::train
