// Every training operation's backward against finite differences (grad_check.h): the loss is
// L = Σ r·f(x) for a random r (the gradient a later operation would send back), the analytic
// gradient the operation's backward given dy = r. Tolerance: |g·d − ΔL/2h| ≤ 2e-3 + 2e-3·|g·d|
// along three random directions per input.
#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "grad_check.h"
#include "train/linear.h"
#include "train/ops.h"

namespace hearth::train::test {
namespace {

using model::RopeStyle;

void expect_gradient(std::vector<float>& x, const std::vector<float>& grad,
                     const std::function<double()>& loss, std::mt19937& rng, const char* what) {
  for (int i = 0; i < 3; ++i) {
    const DirectionalCheck c = check_direction(x, grad, loss, rng);
    EXPECT_NEAR(c.analytic, c.numeric, 2e-3 + 2e-3 * std::abs(c.analytic))
        << what << ", direction " << i;
  }
}

TEST(OpsGradient, RmsNorm) {
  std::mt19937 rng(1);
  const int rows = 3, n = 16;
  std::vector<float> x = random_vector(rows * n, rng, 2.0f), w = random_vector(n, rng, 0.1f);
  for (float& v : w) v += 1.0f;
  const std::vector<float> r = random_vector(rows * n, rng);
  std::vector<float> y(x.size()), rstd(rows), dx(x.size(), 0.0f);
  auto loss = [&] {
    ops::rmsnorm_forward(x.data(), w.data(), rows, n, 1e-5f, y.data(), rstd.data());
    return dot(r, y);
  };
  loss();
  ops::rmsnorm_backward(r.data(), x.data(), w.data(), rstd.data(), rows, n, dx.data());
  expect_gradient(x, dx, loss, rng, "rmsnorm dx");
}

struct RopeCase {
  RopeStyle style;
  std::vector<float> freqs;
  const char* name;
};

TEST(OpsGradient, RopeNormalNeoxAndFrequencyFactors) {
  for (const RopeCase& rc :
       {RopeCase{RopeStyle::normal, {}, "normal"}, RopeCase{RopeStyle::neox, {}, "neox"},
        RopeCase{RopeStyle::normal, {1, 1, 2.69453f, 8}, "llama3 freqs"}}) {
    std::mt19937 rng(2);
    const int T = 5, heads = 3, D = 8;
    const ops::RopeTable table = ops::rope_table(T, D, 10000.0f, rc.freqs);
    std::vector<float> x = random_vector(T * heads * D, rng);
    const std::vector<float> r = random_vector(x.size(), rng);
    auto loss = [&] {
      std::vector<float> y = x;
      ops::rope_forward(y.data(), T, heads, rc.style, table);
      return dot(r, y);
    };
    std::vector<float> dx = r;
    ops::rope_backward(dx.data(), T, heads, rc.style, table);
    expect_gradient(x, dx, loss, rng, rc.name);
  }
}

TEST(OpsGradient, GroupedQueryCausalAttention) {
  std::mt19937 rng(3);
  const int64_t T = 6;
  const ops::AttentionShape s{4, 2, 4};  // two query heads per KV head
  std::vector<float> q = random_vector(T * 16, rng), k = random_vector(T * 8, rng),
                     v = random_vector(T * 8, rng);
  const std::vector<float> r = random_vector(T * 16, rng);
  std::vector<float> out(T * 16), lse(T * 4);
  auto loss = [&] {
    ops::attention_forward(q.data(), k.data(), v.data(), T, s, out.data(), lse.data());
    return dot(r, out);
  };
  loss();
  std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  ops::attention_backward(r.data(), q.data(), k.data(), v.data(), lse.data(), T, s, dq.data(),
                          dk.data(), dv.data());
  expect_gradient(q, dq, loss, rng, "attention dq");
  expect_gradient(k, dk, loss, rng, "attention dk");
  expect_gradient(v, dv, loss, rng, "attention dv");
}

TEST(OpsGradient, SwiGlu) {
  std::mt19937 rng(4);
  const int64_t n = 40;
  std::vector<float> g = random_vector(n, rng, 3.0f), u = random_vector(n, rng, 2.0f);
  const std::vector<float> r = random_vector(n, rng);
  std::vector<float> out(n);
  auto loss = [&] {
    ops::swiglu_forward(g.data(), u.data(), n, out.data());
    return dot(r, out);
  };
  std::vector<float> dg(n, 0.0f), du(n, 0.0f);
  ops::swiglu_backward(r.data(), g.data(), u.data(), n, dg.data(), du.data());
  expect_gradient(g, dg, loss, rng, "swiglu dg");
  expect_gradient(u, du, loss, rng, "swiglu du");
}

TEST(OpsGradient, CrossEntropyOverTargetsOnly) {
  std::mt19937 rng(5);
  const int64_t T = 5;
  const int V = 11;
  std::vector<float> logits = random_vector(T * V, rng, 3.0f);
  const std::vector<int> targets = {3, -1, 10, 0, -1};
  std::vector<float> dlogits(logits.size());
  ops::cross_entropy(logits.data(), T, V, targets, dlogits.data());
  // Rows that are not targets get no gradient.
  for (int i = 0; i < V; ++i) EXPECT_EQ(dlogits[1 * V + i], 0.0f);
  auto loss = [&] { return ops::cross_entropy(logits.data(), T, V, targets, nullptr); };
  expect_gradient(logits, dlogits, loss, rng, "cross-entropy dlogits");
}

// y = W x + s·B(A x) on an F32 and an F16 base (the F16 rows dequantized in backward).
TEST(OpsGradient, LinearWithLora) {
  for (const auto type : {gguf::TensorType::f32, gguf::TensorType::f16}) {
    std::mt19937 rng(6);
    const int64_t T = 3, n_in = 12, n_out = 10, rank = 4;
    const std::vector<float> w_f32 = random_vector(n_in * n_out, rng);
    std::vector<uint8_t> w_bytes(kernels::row_bytes(type, n_in) * n_out);
    kernels::type_ops(type, kernels::KernelSet::reference)
        ->from_float(w_f32.data(), w_bytes.data(), n_in * n_out);
    const kernels::WeightMatrix w{type, w_bytes.data(), n_in, n_out};
    std::vector<float> x = random_vector(T * n_in, rng), a = random_vector(rank * n_in, rng),
                       b = random_vector(n_out * rank, rng);
    const std::vector<float> r = random_vector(T * n_out, rng);
    std::vector<float> ga(a.size(), 0.0f), gb(b.size(), 0.0f), dx(x.size(), 0.0f);
    LoraBinding lora{a.data(), b.data(), ga.data(), gb.data(), rank, 0.75f};
    kernels::MatmulOptions options;  // reference kernels, exact F32
    std::vector<float> y(T * n_out), u(T * rank);
    auto loss = [&] {
      linear_forward(w, &lora, x.data(), T, y.data(), u.data(), options);
      return dot(r, y);
    };
    loss();
    linear_backward(w, &lora, x.data(), u.data(), r.data(), T, dx.data(), options);
    const char* name = type == gguf::TensorType::f32 ? "F32" : "F16";
    SCOPED_TRACE(name);
    expect_gradient(x, dx, loss, rng, "linear dx");
    expect_gradient(a, ga, loss, rng, "linear dA");
    expect_gradient(b, gb, loss, rng, "linear dB");
  }
}

}  // namespace
}  // namespace hearth::train::test
