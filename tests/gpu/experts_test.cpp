// Mixture of experts on the GPU: route_experts against the CPU's rule (softmax, top K with ties
// to the lower expert, renormalised), matmul_experts against kernels::matmul on each slot's
// expert, combine_experts against a plain loop in rank order.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "engine/model/ops.h"
#include "gpu_test_util.h"

namespace hearth::gpu::test {
namespace {

using GpuExperts = GpuTest;

TEST_F(GpuExperts, RoutingMatchesTheCpuRuleIncludingTies) {
  std::mt19937 rng(11);
  const int n_expert = 8, K = 2, T = 6;
  auto logits = random_floats(rng, static_cast<size_t>(T * n_expert), 2.0f);
  for (int e = 0; e < n_expert; ++e) logits[4 * n_expert + e] = 0.5f;  // token 4: all equal
  logits[5 * n_expert + 5] = logits[5 * n_expert + 2] = 9.0f;          // token 5: a tie on top
  std::vector<int32_t> want_ids(static_cast<size_t>(T * K));
  std::vector<float> want_w(want_ids.size());
  for (int t = 0; t < T; ++t) {
    std::vector<float> p(&logits[t * n_expert], &logits[(t + 1) * n_expert]);
    model::softmax(p.data(), n_expert);
    std::vector<int> order(n_expert);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    float sum = 0;
    for (int k = 0; k < K; ++k) sum += p[order[k]];
    for (int k = 0; k < K; ++k) {
      want_ids[t * K + k] = order[k];
      want_w[t * K + k] = p[order[k]] / sum;
    }
  }
  Span ids = make<int32_t>(want_ids.size());
  Span weights = make(want_w.size());
  Commands commands(dev());
  commands.route_experts(put(logits), T, n_expert, K, ids, weights);
  commands.run();
  EXPECT_EQ(get<int32_t>(ids), want_ids);
  expect_close(get(weights), want_w, 1e-6f, "weights");
  EXPECT_EQ(want_ids[4 * K], 0);
  EXPECT_EQ(want_ids[5 * K], 2);
}

TEST_F(GpuExperts, ExpertProductsMatchTheCpuPerSlot) {
  std::mt19937 rng(12);
  for (TensorType type : {TensorType::q4_k, TensorType::q6_k, TensorType::q8_0}) {
    SCOPED_TRACE(std::string(gguf::tensor_type_name(type)));
    const int n_expert = 4, K = 2, T = 5;
    const int64_t n_in = 256, n_out = 33;
    const size_t matrix = kernels::row_bytes(type, n_in) * n_out;
    const uint64_t stride = (matrix + 15) / 16 * 16 + 16;
    std::vector<uint8_t> w(stride * n_expert, 0);
    std::vector<std::vector<uint8_t>> experts;
    for (int e = 0; e < n_expert; ++e) {
      std::vector<uint8_t> m(matrix);
      for (int64_t r = 0; r < n_out; ++r) {
        const auto v = random_floats(rng, n_in, 0.5f);
        kernels::type_ops(type, kernels::KernelSet::reference)
            ->quantize(v.data(), m.data() + r * kernels::row_bytes(type, n_in), n_in);
      }
      std::copy(m.begin(), m.end(), w.begin() + static_cast<int64_t>(e * stride));
      experts.push_back(std::move(m));
    }
    const auto x = random_floats(rng, static_cast<size_t>(T * n_in));
    const std::vector<int32_t> ids = {3, 0, 1, 3, 2, 2, 0, 1, 3, 1};
    std::vector<float> want(static_cast<size_t>(T * K * n_out));
    kernels::MatmulOptions options;
    options.kernels = kernels::KernelSet::reference;
    options.arithmetic = kernels::Arithmetic::exact_f32;
    for (int s = 0; s < T * K; ++s)
      kernels::matmul({type, experts[ids[s]].data(), n_in, n_out}, &x[(s / K) * n_in], 1,
                      &want[s * n_out], options);
    Span y = make(want.size());
    Commands commands(dev());
    commands.matmul_experts({put(w), type, n_in, n_out}, stride, put(x), put(ids), T, K, y);
    commands.run();
    expect_close(get(y), want, 1e-4f, "matmul_experts");
  }
}

TEST_F(GpuExperts, CombineSumsWeightedSlotsInRankOrder) {
  std::mt19937 rng(13);
  const int T = 3, K = 3, n = 45;
  const auto y = random_floats(rng, static_cast<size_t>(T * K * n));
  const auto w = random_floats(rng, static_cast<size_t>(T * K));
  std::vector<float> want(static_cast<size_t>(T * n));
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < n; ++i) {
      float s = y[(t * K) * n + i] * w[t * K];
      for (int k = 1; k < K; ++k) s += y[(t * K + k) * n + i] * w[t * K + k];
      want[t * n + i] = s;
    }
  Span out = make(want.size());
  Commands commands(dev());
  commands.combine_experts(put(y), put(w), T, K, n, out);
  commands.run();
  expect_close(get(out), want, 1e-6f, "combine_experts");
}

}  // namespace
}  // namespace hearth::gpu::test
