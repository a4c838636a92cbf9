// to_float of hand-built blocks: each block is packed here from known codes and scales (an
// independent writing of each layout), and must decode to the format's formula exactly.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using test::dequantize;

TEST(Dequantize, Q4_0NibbleOrderAndOffset) {
  block_q4_0 b;
  b.d = f32_to_f16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto out = dequantize(TensorType::q4_0, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], (j - 8) * 0.5f) << j;
    EXPECT_EQ(out[j + 16], (15 - j - 8) * 0.5f) << j;
  }
}

TEST(Dequantize, Q4_1ScaleAndMin) {
  block_q4_1 b;
  b.d = f32_to_f16(0.25f);
  b.m = f32_to_f16(-1.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto out = dequantize(TensorType::q4_1, &b, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], j * 0.25f - 1.5f);
    EXPECT_EQ(out[j + 16], (15 - j) * 0.25f - 1.5f);
  }
}

// Fifth bits: value i gets bit 4 when i % 3 == 0.
uint32_t fifth_bits() {
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i) qh |= static_cast<uint32_t>(i % 3 == 0) << i;
  return qh;
}

int code5(int i) {
  return ((i < 16 ? i : 31 - i) & 15) | ((i % 3 == 0) << 4);
}

TEST(Dequantize, Q5_0HighBitsFromQh) {
  block_q5_0 b;
  b.d = f32_to_f16(0.125f);
  const uint32_t qh = fifth_bits();
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto out = dequantize(TensorType::q5_0, &b, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out[i], (code5(i) - 16) * 0.125f) << i;
}

TEST(Dequantize, Q5_1HighBitsFromQh) {
  block_q5_1 b;
  b.d = f32_to_f16(0.125f);
  b.m = f32_to_f16(2.0f);
  const uint32_t qh = fifth_bits();
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto out = dequantize(TensorType::q5_1, &b, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(out[i], code5(i) * 0.125f + 2.0f) << i;
}

TEST(Dequantize, Q8_0) {
  block_q8_0 b;
  b.d = f32_to_f16(-0.0625f);
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  const auto out = dequantize(TensorType::q8_0, &b, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], (j * 8 - 128) * -0.0625f);
}

TEST(Dequantize, Iq4NlUsesTheNonLinearGrid) {
  block_iq4_nl b;
  b.d = f32_to_f16(0.5f);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const auto out = dequantize(TensorType::iq4_nl, &b, 32);
  EXPECT_EQ(out[0], -63.5f);
  EXPECT_EQ(out[15], 56.5f);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 0.5f * kvalues_iq4nl[j]);
    EXPECT_EQ(out[j + 16], 0.5f * kvalues_iq4nl[15 - j]);
  }
}

TEST(Dequantize, Fp16AndBf16) {
  const uint16_t h[2] = {0x3c00, 0xc000};  // 1, -2
  EXPECT_EQ(dequantize(TensorType::f16, h, 2), (std::vector<float>{1.0f, -2.0f}));
  const uint16_t b[2] = {0x3f80, 0xc040};  // 1, -3
  EXPECT_EQ(dequantize(TensorType::bf16, b, 2), (std::vector<float>{1.0f, -3.0f}));
}

// ---- K-quants: codes and per-16 scales chosen by formula, packed by hand. ----

// Q2_K value i: code (i·7 + i/16) & 3, sub-block g = i/16 with scale g and min 15 − g.
TEST(Dequantize, Q2_K) {
  block_q2_K b{};
  b.d = f32_to_f16(0.5f);
  b.dmin = f32_to_f16(0.25f);
  for (int g = 0; g < 16; ++g) b.scales[g] = static_cast<uint8_t>(g | ((15 - g) << 4));
  auto code = [](int i) { return (i * 7 + i / 16) & 3; };
  for (int i = 0; i < 256; ++i) {
    const int h = i / 128, k = (i % 128) / 32, l = i % 32;
    b.qs[32 * h + l] = static_cast<uint8_t>(b.qs[32 * h + l] | (code(i) << (2 * k)));
  }
  const auto out = dequantize(TensorType::q2_k, &b, 256);
  for (int i = 0; i < 256; ++i) {
    const int g = i / 16;
    EXPECT_EQ(out[i], 0.5f * g * code(i) - 0.25f * (15 - g)) << i;
  }
}

// Q3_K value i: signed code c(i) in −4..3, scale s(g) in −32..31 per 16 values.
TEST(Dequantize, Q3_K) {
  block_q3_K b{};
  b.d = f32_to_f16(0.25f);
  auto code = [](int i) { return ((i * 5 + i / 32) % 8) - 4; };
  auto scale = [](int g) { return g * 4 - 32 + (g % 3); };  // −32 .. 31
  for (int i = 0; i < 256; ++i) {
    const int c = code(i) + 4;  // 0..7: low 2 bits in qs, bit 2 set means "no −4"
    const int h = i / 128, k = (i % 128) / 32, l = i % 32, m = i / 32;
    b.qs[32 * h + l] = static_cast<uint8_t>(b.qs[32 * h + l] | ((c & 3) << (2 * k)));
    if (c & 4) b.hmask[l] = static_cast<uint8_t>(b.hmask[l] | (1 << m));
  }
  for (int j = 0; j < 16; ++j) {
    const int v = scale(j) + 32;  // 6 bits
    if (j < 8) {
      b.scales[j] = static_cast<uint8_t>(b.scales[j] | (v & 15));
    } else {
      b.scales[j - 8] = static_cast<uint8_t>(b.scales[j - 8] | ((v & 15) << 4));
    }
    b.scales[8 + j % 4] = static_cast<uint8_t>(b.scales[8 + j % 4] | ((v >> 4) << (2 * (j / 4))));
  }
  // Cross-check the packing against the word-wise unpacking llama.cpp describes (four 32-bit
  // words: low nibbles from words 0-1, high 2 bits from word 2 shifted by 0, 2, 4, 6).
  uint32_t aux[4];
  std::memcpy(aux, b.scales, 12);
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
  aux[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
  aux[0] = (aux[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
  aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
  int8_t unpacked[16];
  std::memcpy(unpacked, aux, 16);
  for (int j = 0; j < 16; ++j) ASSERT_EQ(unpacked[j] - 32, scale(j)) << j;

  const auto out = dequantize(TensorType::q3_k, &b, 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(out[i], 0.25f * scale(i / 16) * code(i)) << i;
}

// Packs 8 six-bit scales and mins the Q4_K / Q5_K way.
void pack_k4_scales(const int sc[8], const int mn[8], uint8_t s[12]) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

const int kSc[8] = {1, 63, 17, 40, 33, 62, 5, 48};
const int kMn[8] = {60, 2, 31, 16, 47, 9, 63, 20};

TEST(Dequantize, Q4_K) {
  block_q4_K b{};
  b.d = f32_to_f16(0.125f);
  b.dmin = f32_to_f16(0.0625f);
  pack_k4_scales(kSc, kMn, b.scales);
  auto code = [](int i) { return (i * 11 + i / 64) & 15; };
  for (int i = 0; i < 256; ++i) {
    const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
    b.qs[32 * c + l] = static_cast<uint8_t>(b.qs[32 * c + l] | (code(i) << (4 * hi)));
  }
  const auto out = dequantize(TensorType::q4_k, &b, 256);
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32;
    EXPECT_EQ(out[i], 0.125f * kSc[j] * code(i) - 0.0625f * kMn[j]) << i;
  }
}

TEST(Dequantize, Q5_K) {
  block_q5_K b{};
  b.d = f32_to_f16(0.125f);
  b.dmin = f32_to_f16(0.0625f);
  pack_k4_scales(kSc, kMn, b.scales);
  auto code = [](int i) { return (i * 13 + i / 64) & 31; };
  for (int i = 0; i < 256; ++i) {
    const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
    b.qs[32 * c + l] = static_cast<uint8_t>(b.qs[32 * c + l] | ((code(i) & 15) << (4 * hi)));
    b.qh[l] = static_cast<uint8_t>(b.qh[l] | ((code(i) >> 4) << (i / 32)));
  }
  const auto out = dequantize(TensorType::q5_k, &b, 256);
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32;
    EXPECT_EQ(out[i], 0.125f * kSc[j] * code(i) - 0.0625f * kMn[j]) << i;
  }
}

TEST(Dequantize, Q6_K) {
  block_q6_K b{};
  b.d = f32_to_f16(0.5f);
  for (int g = 0; g < 16; ++g) b.scales[g] = static_cast<int8_t>(g * 17 - 128);
  auto code = [](int i) { return ((i * 29 + i / 16) & 63) - 32; };
  for (int i = 0; i < 256; ++i) {
    const int q = code(i) + 32;
    const int h = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    const int ql_index = 64 * h + l + (quarter % 2) * 32;  // quarters 0, 2 -> ql[l]; 1, 3 -> +32
    const int shift = (quarter / 2) * 4;                   // quarters 2, 3 use the high nibble
    b.ql[ql_index] = static_cast<uint8_t>(b.ql[ql_index] | ((q & 15) << shift));
    b.qh[32 * h + l] = static_cast<uint8_t>(b.qh[32 * h + l] | ((q >> 4) << (2 * quarter)));
  }
  const auto out = dequantize(TensorType::q6_k, &b, 256);
  for (int i = 0; i < 256; ++i) {
    EXPECT_EQ(out[i], 0.5f * static_cast<float>(b.scales[i / 16]) * code(i)) << i;
  }
}

TEST(Dequantize, Q8_K) {
  block_q8_K b{};
  b.d = -0.03125f;
  for (int i = 0; i < 256; ++i) b.qs[i] = static_cast<int8_t>(i - 128);
  const auto out = dequantize(TensorType::q8_k, &b, 256);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(out[i], -0.03125f * (i - 128));
}

}  // namespace
}  // namespace hearth::kernels
