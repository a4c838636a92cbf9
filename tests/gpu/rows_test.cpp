// The row-wise operations against the CPU's model operations (engine/model/ops.h) or a plain
// loop: rmsnorm, rope (both styles), add, add_bias, add_scaled_rows, copy_rows, swiglu, geglu.
#include <gtest/gtest.h>

#include "engine/model/ops.h"
#include "gpu_test_util.h"

namespace hearth::gpu::test {
namespace {

using GpuRows = GpuTest;

TEST_F(GpuRows, RmsnormMatchesTheCpuInPlaceAndNot) {
  std::mt19937 rng(1);
  for (int n : {7, 64, 200}) {
    const int64_t rows = 5;
    const auto x = random_floats(rng, static_cast<size_t>(rows * n), 2.0f);
    const auto w = random_floats(rng, static_cast<size_t>(n));
    std::vector<float> want(x.size());
    for (int64_t r = 0; r < rows; ++r) model::rmsnorm(&x[r * n], w.data(), &want[r * n], n, 1e-5f);
    Span xs = put(x);
    Span out = make(x.size());
    Span in_place = put(x);
    Span ws = put(w);
    Commands commands(dev());
    commands.rmsnorm(xs, ws, out, rows, n, 1e-5f);
    commands.rmsnorm(in_place, ws, in_place, rows, n, 1e-5f);
    commands.run();
    expect_close(get(out), want, 1e-5f, "rmsnorm n=" + std::to_string(n));
    expect_close(get(in_place), want, 1e-5f, "rmsnorm in place n=" + std::to_string(n));
  }
}

TEST_F(GpuRows, RopeBothStylesMatchTheCpu) {
  std::mt19937 rng(2);
  const int T = 3, H = 4, D = 16;
  const int64_t stride = H * D + 24;  // rows of a fused projection: more than the rotated heads
  for (auto [style, cpu_style] : {std::pair{Rope::normal, model::RopeStyle::normal},
                                  std::pair{Rope::neox, model::RopeStyle::neox}}) {
    const auto x = random_floats(rng, static_cast<size_t>(T * stride));
    std::vector<float> cos(static_cast<size_t>(T * D / 2)), sin(cos.size());
    for (int t = 0; t < T; ++t)
      model::rope_angles(17 * t + 5, D, 10000.f, {}, &cos[t * D / 2], &sin[t * D / 2]);
    std::vector<float> want = x;
    for (int t = 0; t < T; ++t)
      model::rope_apply(&want[t * stride], H, D, cpu_style, &cos[t * D / 2], &sin[t * D / 2]);
    Span xs = put(x);
    Commands commands(dev());
    commands.rope(xs, T, H, D, stride, style, put(cos), put(sin));
    commands.run();
    expect_close(get(xs), want, 1e-6f, style == Rope::neox ? "rope neox" : "rope normal");
  }
}

TEST_F(GpuRows, AddAddBiasAddScaledRowsAndCopyRows) {
  std::mt19937 rng(3);
  const int64_t T = 3, n = 70, stride = 90;
  const auto a = random_floats(rng, static_cast<size_t>(T * stride));
  const auto b = random_floats(rng, a.size());
  const auto bias = random_floats(rng, static_cast<size_t>(n));
  const std::vector<float> mask = {1.f, 0.f, 1.f};
  std::vector<float> sum(a.size()), biased = a, scaled = a, copied(static_cast<size_t>(T * n), NAN);
  for (size_t i = 0; i < a.size(); ++i) sum[i] = a[i] + b[i];
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < n; ++i) {
      biased[t * stride + i] += bias[i];
      copied[t * n + i] = a[t * stride + i];
    }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < stride; ++i)
      scaled[t * stride + i] += 0.25f * mask[t] * b[t * stride + i];

  Span as = put(a), bs = put(b), sums = make(a.size()), in_place = put(a), biaseds = put(a),
       scaleds = put(a);
  Span copies = make(copied.size());
  Commands commands(dev());
  commands.add(as, bs, sums, static_cast<int64_t>(a.size()));
  commands.add(in_place, bs, in_place, static_cast<int64_t>(a.size()));
  commands.add_bias(biaseds, put(bias), T, static_cast<int>(n), stride);
  commands.add_scaled_rows(scaleds, bs, put(mask), T, stride, 0.25f);
  commands.copy_rows(as, stride, copies, n, T, n);
  commands.run();
  expect_close(get(sums), sum, 0, "add");
  expect_close(get(in_place), sum, 0, "add in place");
  expect_close(get(biaseds), biased, 0, "add_bias");
  expect_close(get(scaleds), scaled, 1e-6f, "add_scaled_rows");
  expect_close(get(copies), copied, 0, "copy_rows");
}

TEST_F(GpuRows, MoreWorkgroupsThanOneGridRowHolds) {
  // 64 · 65535 values need a second row of workgroups in the dispatch grid.
  const size_t n = 64u * 65535u + 1000u;
  std::vector<float> a(n), b(n), want(n);
  for (size_t i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i % 1000);
    b[i] = static_cast<float>(i / 1000);
    want[i] = a[i] + b[i];
  }
  Span out = make(n);
  Commands commands(dev());
  commands.add(put(a), put(b), out, static_cast<int64_t>(n));
  commands.run();
  expect_close(get(out), want, 0, "add");
}

// Each dispatch sees the one before it (the barrier between them), more dispatches than one
// descriptor pool holds, and a Commands records again after run().
TEST_F(GpuRows, LongChainsOfDependentDispatchesAndReuse) {
  const int64_t n = 100;
  std::vector<float> x(static_cast<size_t>(n)), ones(x.size(), 1.0f);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(i);
  Span xs = put(x), os = put(ones);
  Commands commands(dev());
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < 1200; ++k) commands.add(xs, os, xs, n);
    commands.run();
  }
  std::vector<float> want(x.size());
  for (int64_t i = 0; i < n; ++i) want[i] = static_cast<float>(i + 2400);
  expect_close(get(xs), want, 0, "x after 2400 additions");
}

TEST_F(GpuRows, SwigluAndGegluOnSeparateAndFusedRows) {
  std::mt19937 rng(4);
  const int T = 3, F = 50;
  // Fused rows: g then u, 2F floats per row; separate: F floats per row each.
  const auto fused = random_floats(rng, static_cast<size_t>(T * 2 * F), 3.0f);
  std::vector<float> g(static_cast<size_t>(T * F)), u(g.size());
  for (int t = 0; t < T; ++t)
    for (int i = 0; i < F; ++i) {
      g[t * F + i] = fused[t * 2 * F + i];
      u[t * F + i] = fused[t * 2 * F + F + i];
    }
  std::vector<float> want_silu(g.size()), want_gelu(g.size());
  model::swiglu(g.data(), u.data(), want_silu.data(), T * F);
  model::geglu(g.data(), u.data(), want_gelu.data(), T * F, false);

  Span fs = put(fused), gs = put(g), us = put(u);
  Span silu_fused = make(g.size()), silu = make(g.size()), gelu_fused = make(g.size()),
       gelu = make(g.size());
  Commands commands(dev());
  commands.swiglu(fs, fs.at(F * 4, fs.bytes - F * 4), silu_fused, T, F, 2 * F);
  commands.swiglu(gs, us, silu, T, F, F);
  commands.geglu(fs, fs.at(F * 4, fs.bytes - F * 4), gelu_fused, T, F, 2 * F);
  commands.geglu(gs, us, gelu, T, F, F);
  commands.run();
  expect_close(get(silu_fused), want_silu, 1e-5f, "swiglu fused");
  expect_close(get(silu), want_silu, 1e-5f, "swiglu");
  expect_close(get(gelu_fused), want_gelu, 1e-5f, "geglu fused");
  expect_close(get(gelu), want_gelu, 1e-5f, "geglu");
}

}  // namespace
}  // namespace hearth::gpu::test
