// gemm(): the blocked many-token product against the vec_dot loop of the same kernel set (each
// token converted by the set's from_float, then vec_dot per row), on random blocks and awkward
// sizes; threads against one thread (bit-identical); matmul() routing to it. Skipped where the
// CPU lacks the set.
#include "engine/kernels/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

const std::vector<T> kGemmTypes = {T::f32, T::f16, T::bf16, T::q8_0, T::q4_0,
                                   T::q4_k, T::q5_k, T::q6_k};

MatmulOptions fast_options(ThreadPool* pool = nullptr) {
  return {KernelSet::avx512, Arithmetic::quantized_activations, pool};
}

struct Problem {
  T type;
  int64_t n_in, n_out, n_tokens;
  std::vector<uint8_t> w;
  std::vector<float> x;
  WeightMatrix matrix() const { return {type, w.data(), n_in, n_out}; }
};

Problem make_problem(T type, int64_t n_in, int64_t n_out, int64_t n_tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  Problem p{type, n_in, n_out, n_tokens, {}, {}};
  for (int64_t r = 0; r < n_out; ++r) {
    const auto row = test::random_row(type, n_in, rng);
    p.w.insert(p.w.end(), row.begin(), row.end());
  }
  p.x = test::random_floats(rng, n_in * n_tokens);
  if (n_tokens > 2) {
    // A token of zeros (zero activation scales) and one with a large outlier.
    for (int64_t c = 0; c < n_in; ++c) p.x[static_cast<size_t>(n_in + c)] = 0.f;
    p.x[static_cast<size_t>(2 * n_in + n_in / 3)] = 300.f;
  }
  return p;
}

std::vector<float> run_gemm(const Problem& p, ThreadPool* pool = nullptr) {
  std::vector<float> y(static_cast<size_t>(p.n_out * p.n_tokens), -1.f);
  gemm(p.matrix(), p.x.data(), p.n_tokens, y.data(), fast_options(pool));
  return y;
}

// The vec_dot loop with the same set's kernels; mag[t][r] = Σ|w·x| for the tolerance.
void vec_dot_loop(const Problem& p, std::vector<float>& y, std::vector<double>& mag) {
  const TypeOps* ops = type_ops(p.type, KernelSet::avx512);
  const TypeOps* dot = type_ops(ops->vec_dot_type, KernelSet::avx512);
  const size_t w_row = row_bytes(p.type, p.n_in);
  y.assign(static_cast<size_t>(p.n_out * p.n_tokens), 0.f);
  mag.assign(y.size(), 0.0);
  std::vector<uint8_t> xq(row_bytes(ops->vec_dot_type, p.n_in));
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const float* xt = p.x.data() + t * p.n_in;
    const void* xv = xt;
    if (ops->vec_dot_type != T::f32) {
      dot->from_float(xt, xq.data(), p.n_in);
      xv = xq.data();
    }
    for (int64_t r = 0; r < p.n_out; ++r) {
      const uint8_t* row = p.w.data() + static_cast<size_t>(r) * w_row;
      const size_t o = static_cast<size_t>(t * p.n_out + r);
      y[o] = ops->vec_dot(p.n_in, row, xv);
      const auto wf = test::dequantize(p.type, row, p.n_in);
      double m = 0;
      for (int64_t c = 0; c < p.n_in; ++c) m += std::fabs(double{wf[c]} * xt[c]);
      mag[o] = m;
    }
  }
}

void expect_matches_vec_dot(const Problem& p) {
  const auto got = run_gemm(p);
  std::vector<float> want;
  std::vector<double> mag;
  vec_dot_loop(p, want, mag);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    for (int64_t r = 0; r < p.n_out; ++r) {
      const size_t o = static_cast<size_t>(t * p.n_out + r);
      // Block sums are the same exact integers; only the F32 order of the block terms differs.
      ASSERT_NEAR(got[o], want[o], 2e-6 * mag[o] + 1e-30)
          << "row " << r << " token " << t << " n_in " << p.n_in << " n_out " << p.n_out
          << " n_tokens " << p.n_tokens;
    }
  }
}

class Gemm : public ::testing::TestWithParam<T> {
 protected:
  void SetUp() override {
    if (!kernel_set_available(KernelSet::avx512)) GTEST_SKIP() << "no AVX-512 on this CPU";
    if (!gemm_supported(GetParam(), fast_options())) GTEST_SKIP() << "no GEMM for this type here";
  }
  // A row length that is a multiple of the block size: several K chunks plus a partial one.
  int64_t width(int64_t blocks_of_256) const {
    const uint32_t bs = test::block_size(GetParam());
    if (bs == 256) return 256 * blocks_of_256;
    return 256 * blocks_of_256 + (bs == 1 ? 37 : 96);
  }
};

TEST_P(Gemm, MatchesTheVecDotLoopForEveryTokenCount) {
  for (int64_t n_tokens = 1; n_tokens <= 37; ++n_tokens) {
    expect_matches_vec_dot(make_problem(GetParam(), width(2), 13, n_tokens, 100 + n_tokens));
  }
}

TEST_P(Gemm, MatchesTheVecDotLoopForAwkwardRowCounts) {
  for (int64_t n_out : {1, 5, 6, 7, 47, 48, 49, 101}) {
    expect_matches_vec_dot(make_problem(GetParam(), width(1), n_out, 19, 200 + n_out));
  }
  expect_matches_vec_dot(make_problem(GetParam(), width(4), 53, 35, 300));
}

TEST_P(Gemm, ThreadsGiveBitIdenticalResults) {
  ThreadPool pool(3);
  const Problem p = make_problem(GetParam(), width(3), 150, 33, 400);
  const auto one = run_gemm(p);
  const auto many = run_gemm(p, &pool);
  EXPECT_EQ(one, many);
  EXPECT_EQ(std::count(one.begin(), one.end(), -1.f), 0);  // every output written
}

TEST_P(Gemm, MatmulRoutesManyTokensHere) {
  const Problem p = make_problem(GetParam(), width(1), 20, kGemmMinTokens + 3, 500);
  std::vector<float> y(static_cast<size_t>(p.n_out * p.n_tokens));
  matmul(p.matrix(), p.x.data(), p.n_tokens, y.data(), fast_options());
  EXPECT_EQ(y, run_gemm(p));
}

INSTANTIATE_TEST_SUITE_P(Types, Gemm, ::testing::ValuesIn(kGemmTypes),
                         [](const ::testing::TestParamInfo<T>& info) {
                           return std::string(gguf::tensor_type_name(info.param));
                         });

TEST(GemmSupport, OnlyTheAvx512SetAndMatchingArithmetic) {
  EXPECT_FALSE(gemm_supported(T::q4_0, {KernelSet::reference, Arithmetic::quantized_activations,
                                        nullptr}));
  EXPECT_FALSE(gemm_supported(T::q4_0, {KernelSet::avx512, Arithmetic::exact_f32, nullptr}));
  EXPECT_FALSE(gemm_supported(T::q2_k, fast_options()));
  EXPECT_FALSE(gemm_supported(T::q4_1, fast_options()));
  if (kernel_set_available(KernelSet::avx512)) {
    EXPECT_TRUE(gemm_supported(T::f16, fast_options()));
    EXPECT_TRUE(gemm_supported(T::f32, {KernelSet::avx512, Arithmetic::exact_f32, nullptr}));
  }
}

}  // namespace
}  // namespace hearth::kernels
