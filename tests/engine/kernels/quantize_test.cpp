// The activation quantizers (Q8_0, Q8_1, Q8_K, F16, BF16): exact rounding, ties, error bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

const TypeOps& ops(TensorType t) {
  return *type_ops(t, KernelSet::reference);
}

// A block of 32 whose largest magnitude is 127, so the multiplier 127/amax is exactly 1 and the
// rounding of x itself is visible.
std::vector<float> tie_block() {
  std::vector<float> x(32, 0.f);
  x[0] = 127.f;
  const float ties[] = {0.5f, 1.5f, 2.5f, -2.5f, -3.5f, 126.5f, -0.5f, 4.4999995f, 4.5000005f};
  for (size_t i = 0; i < std::size(ties); ++i) x[1 + i] = ties[i];
  return x;
}
const int kTieCodes[] = {0, 2, 2, -2, -4, 126, 0, 4, 5};

TEST(QuantizeQ8_0, RoundsHalfToEven) {
  block_q8_0 b;
  const auto x = tie_block();
  ops(TensorType::q8_0).from_float(x.data(), &b, 32);
  EXPECT_EQ(f16_to_f32(b.d), 1.0f);
  EXPECT_EQ(b.qs[0], 127);
  for (size_t i = 0; i < std::size(kTieCodes); ++i) EXPECT_EQ(b.qs[1 + i], kTieCodes[i]) << i;
}

TEST(QuantizeQ8_0, MultiplierComesFromAmaxNotFromTheRoundedScale) {
  // amax = 1: d = 1/127 (rounded to F16 when stored), codes = round(x·127).
  std::vector<float> x(32, 0.f);
  x[0] = -1.f;
  // x·127 = 120.496 -> 120; with 1/F16(1/127) = 127.0078 it would be 120.503 -> 121.
  x[1] = 120.496f / 127.f;
  x[2] = 0.3f;  // 38.1 -> 38
  block_q8_0 b;
  ops(TensorType::q8_0).from_float(x.data(), &b, 32);
  EXPECT_EQ(b.d, f32_to_f16(1.f / 127.f));
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 120);
  EXPECT_EQ(b.qs[2], 38);
}

TEST(QuantizeQ8_0, ZeroBlockAndErrorBound) {
  std::vector<float> zeros(32, 0.f);
  block_q8_0 z;
  ops(TensorType::q8_0).from_float(zeros.data(), &z, 32);
  EXPECT_EQ(z.d, 0);
  for (int8_t q : z.qs) EXPECT_EQ(q, 0);

  std::mt19937 rng(1);
  const int64_t n = 32 * 64;
  const auto x = test::random_floats(rng, n, 3.f);
  std::vector<block_q8_0> b(n / 32);
  ops(TensorType::q8_0).from_float(x.data(), b.data(), n);
  const auto back = test::dequantize(TensorType::q8_0, b.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[i / 32 * 32 + j]));
    // Half a step of rounding plus the F16 rounding of d (relative 2^-11, times |q| ≤ 127).
    const double bound = amax / 127.0 * (0.5 + 127.0 / 2048) * 1.0001;
    ASSERT_LE(std::fabs(back[i] - x[i]), bound) << i;
  }
}

TEST(QuantizeQ8_1, StoresTheScaledSumOfCodes) {
  const auto x = tie_block();
  block_q8_1 b;
  ops(TensorType::q8_1).from_float(x.data(), &b, 32);
  int sum = 0;
  for (int8_t q : b.qs) sum += q;
  EXPECT_EQ(f16_to_f32(b.d), 1.0f);
  EXPECT_EQ(f16_to_f32(b.s), static_cast<float>(sum));
  for (size_t i = 0; i < std::size(kTieCodes); ++i) EXPECT_EQ(b.qs[1 + i], kTieCodes[i]) << i;

  // s uses the unrounded F32 d: with amax = 1, s = F16((1/127)·Σq), not F16(F16(1/127)·Σq).
  std::vector<float> y(32, 1.f);
  ops(TensorType::q8_1).from_float(y.data(), &b, 32);
  EXPECT_EQ(b.s, f32_to_f16(1.f / 127.f * (127.f * 32)));
}

TEST(QuantizeQ8_K, FirstLargestMagnitudeSetsTheSign) {
  std::vector<float> x(256, 0.f);
  x[3] = 2.f;
  x[10] = -2.f;
  block_q8_K b;
  ops(TensorType::q8_k).from_float(x.data(), &b, 256);
  EXPECT_EQ(b.d, 1 / (-127.f / 2.f));  // negative: the first largest (x[3]) is positive
  EXPECT_EQ(b.qs[3], -127);
  EXPECT_EQ(b.qs[10], 127);

  x[3] = -2.f;
  x[10] = 2.f;
  ops(TensorType::q8_k).from_float(x.data(), &b, 256);
  EXPECT_GT(b.d, 0.f);
  EXPECT_EQ(b.qs[3], -127);
  EXPECT_EQ(b.qs[10], 127);
}

TEST(QuantizeQ8_K, RoundsHalfToEvenAndSumsGroups) {
  // x_max = −127 gives iscale = 1 exactly.
  std::vector<float> x(256, 0.f);
  x[0] = -127.f;
  const float ties[] = {0.5f, 1.5f, 2.5f, -2.5f, -3.5f, 126.5f, -0.5f, 4.4999995f, 4.5000005f};
  for (size_t i = 0; i < std::size(ties); ++i) x[20 + i] = ties[i];
  for (int i = 64; i < 256; ++i) x[i] = static_cast<float>(i % 50) - 25.f;
  block_q8_K b;
  ops(TensorType::q8_k).from_float(x.data(), &b, 256);
  EXPECT_EQ(b.d, 1.0f);
  EXPECT_EQ(b.qs[0], -127);
  for (size_t i = 0; i < std::size(kTieCodes); ++i) EXPECT_EQ(b.qs[20 + i], kTieCodes[i]) << i;
  for (int g = 0; g < 16; ++g) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += b.qs[16 * g + j];
    EXPECT_EQ(b.bsums[g], sum) << g;
  }
}

TEST(QuantizeQ8_K, ZeroBlockAndErrorBound) {
  std::vector<float> zeros(256, 0.f);
  block_q8_K z;
  std::memset(&z, 0x5a, sizeof(z));
  ops(TensorType::q8_k).from_float(zeros.data(), &z, 256);
  EXPECT_EQ(z.d, 0.f);
  for (int8_t q : z.qs) EXPECT_EQ(q, 0);
  for (int16_t s : z.bsums) EXPECT_EQ(s, 0);

  std::mt19937 rng(2);
  const int64_t n = 256 * 16;
  const auto x = test::random_floats(rng, n, 0.7f);
  std::vector<block_q8_K> b(n / 256);
  ops(TensorType::q8_k).from_float(x.data(), b.data(), n);
  const auto back = test::dequantize(TensorType::q8_k, b.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_LE(std::fabs(back[i] - x[i]), std::fabs(b[i / 256].d) * 0.5001) << i;
  }
}

TEST(QuantizeFloat, F16AndBf16RoundTrip) {
  std::mt19937 rng(3);
  const auto x = test::random_floats(rng, 1000);
  std::vector<uint16_t> h(1000);
  ops(TensorType::f16).from_float(x.data(), h.data(), 1000);
  const auto back = test::dequantize(TensorType::f16, h.data(), 1000);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(h[i], f32_to_f16(x[i]));
    EXPECT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * 0x1p-11f + 0x1p-25f);
  }
  ops(TensorType::bf16).from_float(x.data(), h.data(), 1000);
  const auto back16 = test::dequantize(TensorType::bf16, h.data(), 1000);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::fabs(back16[i] - x[i]), std::fabs(x[i]) * 0x1p-8f);
  }
  std::vector<float> f(1000);
  ops(TensorType::f32).from_float(x.data(), f.data(), 1000);
  EXPECT_EQ(f, x);
}

}  // namespace
}  // namespace hearth::kernels
