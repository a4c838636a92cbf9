// F16 / BF16 conversion: exhaustive over all 65536 halves and every rounding boundary.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <bit>
#include <cmath>
#include <random>

#include "core/cpu_features.h"
#include "engine/kernels/half.h"

namespace hearth::kernels {
namespace {

// The value of a half from its definition, in double.
double half_value(uint16_t h) {
  const int sign = h >> 15;
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  const double mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return sign ? -mag : mag;
}

TEST(Half, EveryHalfDecodesToItsValueAndRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const auto bits = static_cast<uint16_t>(h);
    const float f = f16_to_f32(bits);
    const int exp = (h >> 10) & 0x1f;
    if (exp == 31) {
      if (h & 0x3ff) {
        ASSERT_TRUE(std::isnan(f)) << h;
        ASSERT_EQ(f32_to_f16(f), bits | 0x200) << h;  // NaN stays NaN, made quiet
      } else {
        ASSERT_TRUE(std::isinf(f)) << h;
        ASSERT_EQ(f32_to_f16(f), bits);
      }
      continue;
    }
    ASSERT_EQ(static_cast<double>(f), half_value(bits)) << h;
    ASSERT_EQ(std::signbit(f), (h >> 15) != 0) << h;
    ASSERT_EQ(f32_to_f16(f), bits) << h;
  }
}

TEST(Half, EveryRoundingBoundaryGoesToNearestEven) {
  // Between each pair of adjacent positive halves: the midpoint (exact in F32) goes to the even
  // one, the floats just around it to the nearer one.
  for (uint16_t h = 0; h < 0x7bff; ++h) {
    const auto next = static_cast<uint16_t>(h + 1);
    const float mid = static_cast<float>((half_value(h) + half_value(next)) / 2);
    ASSERT_EQ(static_cast<double>(mid), (half_value(h) + half_value(next)) / 2);
    const uint16_t even = (h & 1) ? next : h;
    ASSERT_EQ(f32_to_f16(mid), even) << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, 0.f)), h) << h;
    ASSERT_EQ(f32_to_f16(std::nextafter(mid, 1e9f)), next) << h;
    ASSERT_EQ(f32_to_f16(-mid), even | 0x8000) << h;
  }
}

TEST(Half, SpecialCases) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65519.99f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00);  // the tie above the largest half rounds to infinity
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // tie between 0 and the smallest subnormal
  EXPECT_EQ(f32_to_f16(0x1.000002p-25f), 0x0001);
  EXPECT_EQ(f32_to_f16(0x1.8p-24f), 0x0002);          // 1.5 units: tie to even 2
  EXPECT_EQ(f32_to_f16(1023.5f * 0x1p-24f), 0x0400);  // largest subnormal carries into normal
  EXPECT_EQ(f32_to_f16(1e-30f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(std::bit_cast<float>(0x00000001u)), 0x0000);  // F32 subnormal
  EXPECT_EQ(f32_to_f16(std::bit_cast<float>(0x7fc00000u)), 0x7e00);
  EXPECT_EQ(f32_to_f16(std::bit_cast<float>(0xff800001u)), 0xfe00);  // signalling NaN quieted
}

__attribute__((target("f16c"))) uint16_t hardware_f32_to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}

TEST(Half, MatchesTheF16cInstructionOnRandomFloats) {
  if (!cpu_features().f16c) GTEST_SKIP() << "no F16C on this CPU";
  std::mt19937 rng(7);
  for (int i = 0; i < 2'000'000; ++i) {
    // Random bit patterns concentrated on the F16 range (exponents 100..150) plus any pattern.
    uint32_t bits = rng();
    if (i % 2) bits = (bits & 0x807fffffu) | ((100u + bits % 51u) << 23);
    const float f = std::bit_cast<float>(bits);
    ASSERT_EQ(f32_to_f16(f), hardware_f32_to_f16(f)) << std::hex << bits;
  }
}

TEST(BFloat16, RoundsToNearestEvenAndKeepsNaN) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie, even below
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie, even above
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x7f7fffffu)), 0x7f80);  // overflow to inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0x7f800001u)))));
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h);
  }
}

}  // namespace
}  // namespace hearth::kernels
