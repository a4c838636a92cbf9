// gemm(): the blocked many-token product against the vec_dot loop of the same kernel set (each
// token converted by the set's from_float, then vec_dot per row), for the avx512 and avx2 sets,
// on random blocks, extreme codes and awkward sizes; threads against one thread (bit-identical);
// matmul() routing to it. Skipped where the CPU lacks the set.
#include "engine/kernels/gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

const std::vector<T> kGemmTypes = {T::f32, T::f16, T::bf16, T::q8_0, T::q4_0,
                                   T::q4_k, T::q5_k, T::q6_k};

MatmulOptions fast_options(KernelSet set = KernelSet::avx512, ThreadPool* pool = nullptr) {
  return {set, Arithmetic::quantized_activations, pool};
}

struct Problem {
  KernelSet set;
  T type;
  int64_t n_in, n_out, n_tokens;
  std::vector<uint8_t> w;
  std::vector<float> x;
  WeightMatrix matrix() const { return {type, w.data(), n_in, n_out}; }
};

Problem make_problem(KernelSet set, T type, int64_t n_in, int64_t n_out, int64_t n_tokens,
                     uint32_t seed) {
  std::mt19937 rng(seed);
  Problem p{set, type, n_in, n_out, n_tokens, {}, {}};
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
  gemm(p.matrix(), p.x.data(), p.n_tokens, y.data(), fast_options(p.set, pool));
  return y;
}

// The vec_dot loop with the same set's kernels; mag[t][r] = Σ|w·x| for the tolerance.
void vec_dot_loop(const Problem& p, std::vector<float>& y, std::vector<double>& mag) {
  const TypeOps* ops = type_ops(p.type, p.set);
  const TypeOps* dot = type_ops(ops->vec_dot_type, p.set);
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
          << kernel_set_name(p.set) << " row " << r << " token " << t << " n_in " << p.n_in
          << " n_out " << p.n_out << " n_tokens " << p.n_tokens;
    }
  }
}

// Every code of every block at its largest magnitude, scales kept: the integer sums are at their
// largest, where an int16 pair sum of the AVX2 kernels would saturate if the exactness argument
// of gemm_quant_avx2.cpp were wrong. Q8_0: −128 in the first half of each block (the sign
// trick's edge, |w| = 128), 127 in the second (255 stored +128: a plain u8 × s8 pair overflows).
// 4/5/6-bit codes: all ones.
void extreme_codes(Problem& p) {
  const size_t bytes = row_bytes(p.type, p.n_in) * static_cast<size_t>(p.n_out);
  auto each = [&](auto* blocks, auto&& fix) {
    for (size_t i = 0; i < bytes / sizeof(*blocks); ++i) fix(blocks[i]);
  };
  switch (p.type) {
    case T::q8_0:
      each(reinterpret_cast<block_q8_0*>(p.w.data()),
           [](block_q8_0& b) {
             std::memset(b.qs, 0x80, sizeof b.qs / 2);
             std::memset(b.qs + sizeof b.qs / 2, 0x7f, sizeof b.qs / 2);
           });
      break;
    case T::q4_0:
      each(reinterpret_cast<block_q4_0*>(p.w.data()),
           [](block_q4_0& b) { std::memset(b.qs, 0xff, sizeof b.qs); });
      break;
    case T::q4_k:
      each(reinterpret_cast<block_q4_K*>(p.w.data()),
           [](block_q4_K& b) { std::memset(b.qs, 0xff, sizeof b.qs); });
      break;
    case T::q5_k:
      each(reinterpret_cast<block_q5_K*>(p.w.data()), [](block_q5_K& b) {
        std::memset(b.qs, 0xff, sizeof b.qs);
        std::memset(b.qh, 0xff, sizeof b.qh);
      });
      break;
    case T::q6_k:
      each(reinterpret_cast<block_q6_K*>(p.w.data()), [](block_q6_K& b) {
        std::memset(b.ql, 0xff, sizeof b.ql);
        std::memset(b.qh, 0xff, sizeof b.qh);
      });
      break;
    default:
      break;
  }
}

using Param = std::tuple<KernelSet, T>;

class Gemm : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (!kernel_set_available(set())) GTEST_SKIP() << "no " << kernel_set_name(set()) << " here";
    if (!gemm_supported(type(), fast_options(set()))) GTEST_SKIP() << "no GEMM for this type";
  }
  KernelSet set() const { return std::get<0>(GetParam()); }
  T type() const { return std::get<1>(GetParam()); }
  Problem problem(int64_t n_in, int64_t n_out, int64_t n_tokens, uint32_t seed) const {
    return make_problem(set(), type(), n_in, n_out, n_tokens, seed);
  }
  // A row length that is a multiple of the block size: several K chunks plus a partial one.
  int64_t width(int64_t blocks_of_256) const {
    const uint32_t bs = test::block_size(type());
    if (bs == 256) return 256 * blocks_of_256;
    return 256 * blocks_of_256 + (bs == 1 ? 37 : 96);
  }
};

TEST_P(Gemm, MatchesTheVecDotLoopForEveryTokenCount) {
  // Past two 16-token vectors and several 8-token ones, with partial vectors on the way.
  for (int64_t n_tokens = 1; n_tokens <= 70; n_tokens += n_tokens < 40 ? 1 : 5) {
    expect_matches_vec_dot(problem(width(2), 13, n_tokens, 100 + static_cast<uint32_t>(n_tokens)));
  }
}

TEST_P(Gemm, MatchesTheVecDotLoopForAwkwardRowCounts) {
  for (int64_t n_out : {1, 3, 4, 5, 6, 7, 47, 48, 49, 101}) {
    expect_matches_vec_dot(problem(width(1), n_out, 19, 200 + static_cast<uint32_t>(n_out)));
  }
  expect_matches_vec_dot(problem(width(4), 53, 35, 300));
}

TEST_P(Gemm, MatchesTheVecDotLoopAtExtremeCodes) {
  for (float sign : {1.f, -1.f}) {
    Problem p = problem(width(1), 11, 21, 600);
    extreme_codes(p);
    // Activations of one sign and equal magnitude: every code at ±127 and every product of a
    // block the same sign, the largest integer sums there are.
    for (float& v : p.x) v = sign * (0.5f + 0.001f * std::fabs(v));
    expect_matches_vec_dot(p);
  }
}

TEST_P(Gemm, ThreadsGiveBitIdenticalResults) {
  const Problem p = problem(width(3), 150, 33, 400);
  const auto one = run_gemm(p);
  EXPECT_EQ(std::count(one.begin(), one.end(), -1.f), 0);  // every output written
  for (size_t threads : {2, 3}) {
    ThreadPool pool(threads);
    EXPECT_EQ(one, run_gemm(p, &pool)) << threads << " threads";
  }
}

TEST_P(Gemm, MatmulRoutesManyTokensHere) {
  const Problem p = problem(width(1), 20, kGemmMinTokens + 3, 500);
  std::vector<float> y(static_cast<size_t>(p.n_out * p.n_tokens));
  matmul(p.matrix(), p.x.data(), p.n_tokens, y.data(), fast_options(set()));
  EXPECT_EQ(y, run_gemm(p));
}

INSTANTIATE_TEST_SUITE_P(Types, Gemm,
                         ::testing::Combine(::testing::Values(KernelSet::avx512, KernelSet::avx2),
                                            ::testing::ValuesIn(kGemmTypes)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                           return std::string(kernel_set_name(std::get<0>(info.param))) + "_" +
                                  std::string(gguf::tensor_type_name(std::get<1>(info.param)));
                         });

TEST(GemmSupport, OnlySimdSetsAndMatchingArithmetic) {
  EXPECT_FALSE(gemm_supported(T::q4_0, {KernelSet::reference, Arithmetic::quantized_activations,
                                        nullptr}));
  for (KernelSet set : {KernelSet::avx2, KernelSet::avx512}) {
    SCOPED_TRACE(std::string(kernel_set_name(set)));
    EXPECT_FALSE(gemm_supported(T::q4_0, {set, Arithmetic::exact_f32, nullptr}));
    EXPECT_FALSE(gemm_supported(T::q2_k, fast_options(set)));
    EXPECT_FALSE(gemm_supported(T::q4_1, fast_options(set)));
    if (kernel_set_available(set)) {
      EXPECT_TRUE(gemm_supported(T::f16, fast_options(set)));
      EXPECT_TRUE(gemm_supported(T::f32, {set, Arithmetic::exact_f32, nullptr}));
    } else {
      EXPECT_FALSE(gemm_supported(T::f16, fast_options(set)));
    }
  }
  // AVX2 has a GEMM for every integer type of the avx512 set, so an AVX-512 CPU without VNNI
  // keeps one through the rows it inherits.
  if (kernel_set_available(KernelSet::avx2)) {
    for (T t : kGemmTypes) EXPECT_TRUE(gemm_supported(t, fast_options(KernelSet::avx2)));
  }
}

}  // namespace
}  // namespace hearth::kernels
