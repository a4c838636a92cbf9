// Row quantizers: random rows round-trip through the kernels' reference decoders within each
// type's error bound, and special rows (zeros, constants, one outlier, tiny values) stay sane.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "core/error.h"
#include "engine/quantize/quantize.h"

namespace hearth::quantize {
namespace {

using T = TensorType;

// Largest allowed RMS error relative to the row's RMS for N(0,1) rows (measured values are about
// half of these; llama.cpp's own tests use similar thresholds).
double rms_bound(T t) {
  switch (t) {
    case T::f32: return 0;
    case T::f16: return 1e-3;
    case T::bf16: return 5e-3;
    case T::q8_0: return 0.01;
    case T::q6_k: return 0.03;
    case T::q5_0:
    case T::q5_1:
    case T::q5_k: return 0.07;
    case T::q4_0:
    case T::q4_1:
    case T::q4_k:
    case T::iq4_nl: return 0.13;
    case T::q3_k: return 0.25;
    case T::q2_k: return 0.45;
    default: return 1;
  }
}

std::vector<float> round_trip(T type, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(row_size(type, n));
  EXPECT_EQ(quantize_rows(type, x.data(), q.data(), 1, n), q.size());
  std::vector<float> y(x.size());
  dequantize_row(type, q.data(), y.data(), n);
  return y;
}

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float f : v) s += static_cast<double>(f) * f;
  return std::sqrt(s / static_cast<double>(v.size()));
}

class RowTest : public ::testing::TestWithParam<T> {};

TEST_P(RowTest, RandomRowsRoundTripWithinBound) {
  const T type = GetParam();
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int trial = 0; trial < 8; ++trial) {
    std::vector<float> x(1024);
    const float scale = std::pow(10.0f, static_cast<float>(trial % 4) - 2);  // 0.01 .. 10
    for (float& v : x) v = normal(rng) * scale;
    const std::vector<float> y = round_trip(type, x);
    std::vector<float> err(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_TRUE(std::isfinite(y[i]));
      err[i] = y[i] - x[i];
    }
    EXPECT_LE(rms(err), rms_bound(type) * rms(x)) << "trial " << trial;
  }
}

TEST_P(RowTest, SpecialRowsStaySane) {
  const T type = GetParam();
  const size_t n = 512;
  auto check = [&](const std::vector<float>& x, double tolerance, const char* what) {
    SCOPED_TRACE(what);
    const std::vector<float> y = round_trip(type, x);
    for (size_t i = 0; i < n; ++i) {
      ASSERT_FALSE(std::isnan(y[i])) << i;
      ASSERT_TRUE(std::isfinite(y[i])) << i;
      ASSERT_LE(std::fabs(y[i] - x[i]), tolerance) << i << ": " << x[i] << " -> " << y[i];
    }
  };
  check(std::vector<float>(n, 0.0f), 0, "zeros");
  check(std::vector<float>(n, 0.75f), 0.75 * 0.02, "positive constant");
  check(std::vector<float>(n, -3.0f), 3.0 * 0.02, "negative constant");
  std::vector<float> tiny(n);
  for (size_t i = 0; i < n; ++i) tiny[i] = (i % 2 ? 1e-20f : -3e-21f) * static_cast<float>(i % 7);
  check(tiny, 1e-19, "tiny values");
  std::vector<float> subnormal(n, 1e-40f);
  check(subnormal, 1e-39, "subnormal values");

  // One huge outlier (within F16 range) in an otherwise small row: the outlier survives, the
  // rest may be flattened to within the block's step.
  std::vector<float> outlier(n);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.01f, 0.01f);
  for (float& v : outlier) v = u(rng);
  outlier[100] = 20000.0f;
  const std::vector<float> y = round_trip(type, outlier);
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(std::isfinite(y[i])) << i;
  EXPECT_NEAR(y[100], 20000.0f, 20000.0 * 0.1);
  const size_t block = gguf::traits(type).block_size;
  for (size_t i = 0; i < n; ++i) {
    if (i / block == 100 / block) continue;  // other blocks are unaffected by the outlier
    EXPECT_LE(std::fabs(y[i] - outlier[i]), 0.01 * 0.5 + 1e-3) << i;
  }
}

TEST_P(RowTest, SeveralRowsEqualOneRowEach) {
  const T type = GetParam();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t n = 512, rows = 3;
  std::vector<float> x(static_cast<size_t>(n * rows));
  for (float& v : x) v = normal(rng);
  const size_t rs = row_size(type, n);
  std::vector<uint8_t> all(rs * rows), one(rs);
  quantize_rows(type, x.data(), all.data(), rows, n);
  for (int64_t r = 0; r < rows; ++r) {
    quantize_rows(type, x.data() + r * n, one.data(), 1, n);
    EXPECT_EQ(0, std::memcmp(one.data(), all.data() + rs * static_cast<size_t>(r), rs));
  }
}

INSTANTIATE_TEST_SUITE_P(Types, RowTest, ::testing::ValuesIn(supported_types()),
                         [](const auto& info) {
                           return std::string(gguf::tensor_type_name(info.param));
                         });

// The quantizer's types are the kernel table's rows with a quantize function.
TEST(QuantizeRows, SupportedTypesComeFromTheKernelTable) {
  std::set<T> got(supported_types().begin(), supported_types().end());
  const std::set<T> expected = {T::q8_0, T::q4_0, T::q4_1,  T::q5_0, T::q5_1, T::q2_k,   T::q3_k,
                                T::q4_k, T::q5_k, T::q6_k, T::iq4_nl, T::f16, T::bf16, T::f32};
  EXPECT_EQ(got, expected);
  EXPECT_EQ(supported_types().size(), expected.size());
}

TEST(QuantizeRows, RejectsBadWidthsAndTypes) {
  std::vector<float> x(300);
  std::vector<uint8_t> q(4096);
  EXPECT_THROW(quantize_rows(T::q4_k, x.data(), q.data(), 1, 300), Error);
  EXPECT_THROW(quantize_rows(T::q4_0, x.data(), q.data(), 1, 40), Error);
  EXPECT_THROW(quantize_rows(T::iq2_xxs, x.data(), q.data(), 1, 256), Error);
  EXPECT_FALSE(is_supported(T::q8_k));
  EXPECT_TRUE(is_supported(T::iq4_nl));
}

}  // namespace
}  // namespace hearth::quantize
