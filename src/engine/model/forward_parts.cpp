// The products with the weights and the feed-forward blocks of the CPU forward pass
// (forward_parts.h).
#include "engine/model/forward_parts.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>

#include "core/reused_buffer.h"
#include "engine/model/ops.h"

namespace hearth::model {

namespace {

using kernels::MatmulOptions;

// linear() for batch-invariant decoding (ContextOptions::batch_invariant): `one` (per row of x,
// may be null for no split) marks the rows computed with the one-token kernels; the others use
// the many-token ones. Each kind goes through matmul in one call, its rows gathered when they
// are not contiguous; either way every row's result depends on that row alone.
void linear_rows(const WeightMatrix& w, const float* x, int64_t T, float* y, const MatmulOptions& o,
                 const uint8_t* one) {
  if (one == nullptr) {
    linear(w, x, T, y, o);
    return;
  }
  std::vector<int64_t> rows;
  std::vector<float> xs, ys;
  for (const uint8_t kind : {uint8_t{1}, uint8_t{0}}) {
    rows.clear();
    for (int64_t t = 0; t < T; ++t)
      if (one[t] == kind) rows.push_back(t);
    if (rows.empty()) continue;
    MatmulOptions ok = o;
    ok.path = kind ? MatmulOptions::Path::one_token : MatmulOptions::Path::many_tokens;
    const auto n = static_cast<int64_t>(rows.size());
    if (rows.back() - rows.front() + 1 == n) {  // contiguous: in place
      linear(w, x + rows.front() * w.n_in, n, y + rows.front() * w.n_out, ok);
      continue;
    }
    xs.resize(static_cast<size_t>(n * w.n_in));
    ys.resize(static_cast<size_t>(n * w.n_out));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + rows[i] * w.n_in, w.n_in, &xs[i * w.n_in]);
    linear(w, xs.data(), n, ys.data(), ok);
    for (int64_t i = 0; i < n; ++i) std::copy_n(&ys[i * w.n_out], w.n_out, y + rows[i] * w.n_out);
  }
}

}  // namespace

void Projector::operator()(const WeightMatrix& w, const float* x, int64_t T, float* y) const {
  linear_rows(w, x, T, y, o, one);
  if (const std::vector<LoraTerm>* terms = lora.find(w)) {
    std::vector<float> ax, bax;
    for (const LoraTerm& term : *terms) {
      ax.resize(static_cast<size_t>(T * term.a.n_out));
      bax.resize(static_cast<size_t>(T * term.b.n_out));
      linear_rows(term.a, x, T, ax.data(), o, one);
      linear_rows(term.b, ax.data(), T, bax.data(), o, one);
      for (size_t i = 0; i < bax.size(); ++i) y[i] += term.scale * bax[i];
    }
  }
  if (row_lora != nullptr) add_sequence_terms(w, x, T, y);
}

void Projector::add_sequence_terms(const WeightMatrix& w, const float* x, int64_t T,
                                   float* y) const {
  std::vector<const LoraIndex*> sets;  // in order of first use
  for (int64_t t = 0; t < T; ++t)
    if (row_lora[t] != nullptr && std::find(sets.begin(), sets.end(), row_lora[t]) == sets.end())
      sets.push_back(row_lora[t]);
  std::vector<int64_t> rows;
  std::vector<uint8_t> rows_one;
  std::vector<float> xs, ax, bax;
  for (const LoraIndex* set : sets) {
    const std::vector<LoraTerm>* terms = set->find(w);
    if (terms == nullptr) continue;
    rows.clear();
    rows_one.clear();
    for (int64_t t = 0; t < T; ++t)
      if (row_lora[t] == set) {
        rows.push_back(t);
        if (one != nullptr) rows_one.push_back(one[t]);
      }
    const auto n = static_cast<int64_t>(rows.size());
    xs.resize(static_cast<size_t>(n * w.n_in));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + rows[i] * w.n_in, w.n_in, &xs[i * w.n_in]);
    const uint8_t* kinds = one != nullptr ? rows_one.data() : nullptr;
    for (const LoraTerm& term : *terms) {
      ax.resize(static_cast<size_t>(n * term.a.n_out));
      bax.resize(static_cast<size_t>(n * term.b.n_out));
      linear_rows(term.a, xs.data(), n, ax.data(), o, kinds);
      linear_rows(term.b, ax.data(), n, bax.data(), o, kinds);
      for (int64_t i = 0; i < n; ++i) {
        float* yr = y + rows[i] * w.n_out;
        const float* br = &bax[static_cast<size_t>(i * w.n_out)];
        for (int64_t c = 0; c < w.n_out; ++c) yr[c] += term.scale * br[c];
      }
    }
  }
}

// Adds `bias` (n values) to each of T rows of `stride` floats starting at x.
void add_bias(float* x, const std::vector<float>& bias, int64_t T, int stride) {
  if (bias.empty()) return;
  for (int64_t t = 0; t < T; ++t)
    for (size_t i = 0; i < bias.size(); ++i) x[t * stride + static_cast<int64_t>(i)] += bias[i];
}

// Dense gated FFN: out (T×E) = down(act(gate·x) * (up·x)), act SiLU or GELU (tanh); GELU as
// llama.cpp's CPU backend computes it (an F16 table) when `gelu_table`.
void dense_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
               const Projector& project, bool gelu_table) {
  const int F = hp.n_ff;
  const auto n = static_cast<size_t>(T * F);
  std::span<float> act = reused_buffer<float, BufferSlot::ffn_act>(n);
  if (w.gate_up_fused) {
    // per token: F gate, then F up
    std::span<float> gu = reused_buffer<float, BufferSlot::ffn_gate>(2 * n);
    project(w.ffn_up, x, T, gu.data());
    for (int64_t t = 0; t < T; ++t) swiglu(&gu[t * 2 * F], &gu[t * 2 * F + F], &act[t * F], F);
  } else {
    std::span<float> g = reused_buffer<float, BufferSlot::ffn_gate>(n);
    std::span<float> u = reused_buffer<float, BufferSlot::ffn_up>(n);
    project(w.ffn_gate, x, T, g.data());
    project(w.ffn_up, x, T, u.data());
    if (w.gelu) {
      geglu(g.data(), u.data(), act.data(), static_cast<int>(T * F), gelu_table);
    } else {
      swiglu(g.data(), u.data(), act.data(), static_cast<int>(T * F));
    }
  }
  project(w.ffn_down, act.data(), T, out);
}

// Mixture of experts: softmax over all router logits, keep the top n_expert_used, renormalise
// their weights to sum 1, and sum the chosen experts' SwiGLU outputs weighted (in rank order).
void moe_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
             const Projector& project) {
  const int E = hp.n_embd, F = hp.n_ff, K = hp.n_expert_used, NE = hp.n_expert;
  std::vector<float> probs(static_cast<size_t>(T * NE));
  project(w.ffn_router, x, T, probs.data());

  // choice[t*K + k] = expert of rank k for token t, weight[t*K + k] its weight.
  std::vector<int> choice(static_cast<size_t>(T * K));
  std::vector<float> weight(static_cast<size_t>(T * K));
  std::vector<int> order(static_cast<size_t>(NE));
  for (int64_t t = 0; t < T; ++t) {
    float* p = &probs[t * NE];
    softmax(p, NE);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    float sum = 0;
    for (int k = 0; k < K; ++k) sum += p[order[k]];
    for (int k = 0; k < K; ++k) {
      choice[t * K + k] = order[k];
      weight[t * K + k] = p[order[k]] / sum;
    }
  }

  // Each expert runs once over the tokens routed to it; results land in ranked slots.
  std::vector<float> slots(static_cast<size_t>(T * K * E));
  std::vector<float> xs, g, u, act, y;
  std::vector<uint8_t> xs_one;            // the row kinds of xs, when splitting
  std::vector<const LoraIndex*> xs_lora;  // the sequence adapters of xs's rows, when any
  for (int e = 0; e < NE; ++e) {
    std::vector<int64_t> rows;  // indexes t*K + k routed to e
    for (int64_t r = 0; r < T * K; ++r)
      if (choice[r] == e) rows.push_back(r);
    if (rows.empty()) continue;
    const auto n = static_cast<int64_t>(rows.size());
    xs.resize(static_cast<size_t>(n * E));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + (rows[i] / K) * E, E, &xs[i * E]);
    const uint8_t* sub_one = nullptr;
    if (project.one != nullptr) {
      xs_one.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) xs_one[static_cast<size_t>(i)] = project.one[rows[i] / K];
      sub_one = xs_one.data();
    }
    const LoraIndex* const* sub_lora = nullptr;
    if (project.row_lora != nullptr) {
      xs_lora.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        xs_lora[static_cast<size_t>(i)] = project.row_lora[rows[i] / K];
      sub_lora = xs_lora.data();
    }
    const Projector expert = project.rows(sub_one, sub_lora);
    g.resize(static_cast<size_t>(n * F));
    u.resize(g.size());
    act.resize(g.size());
    y.resize(static_cast<size_t>(n * E));
    expert(w.expert_gate[e], xs.data(), n, g.data());
    expert(w.expert_up[e], xs.data(), n, u.data());
    swiglu(g.data(), u.data(), act.data(), static_cast<int>(n * F));
    expert(w.expert_down[e], act.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i)
      for (int c = 0; c < E; ++c) slots[rows[i] * E + c] = y[i * E + c] * weight[rows[i]];
  }
  for (int64_t t = 0; t < T; ++t)
    for (int c = 0; c < E; ++c) {
      float s = slots[(t * K) * E + c];
      for (int k = 1; k < K; ++k) s += slots[(t * K + k) * E + c];
      out[t * E + c] = s;
    }
}

}  // namespace hearth::model
