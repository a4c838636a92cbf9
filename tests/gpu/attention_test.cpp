// kv_store and attention: cache writes bit for bit as the CPU rounds them (F32 and F16 cells),
// and grouped-query attention over cells read in place against model::attend on the same rows:
// GQA, two sequences with their own cell lists, runs that start after 0 (sliding window), more
// cells than one 64-cell tile, F32 and F16 cells.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/kernels/half.h"
#include "engine/model/ops.h"
#include "gpu_test_util.h"

namespace hearth::gpu::test {
namespace {

using GpuAttention = GpuTest;

TEST_F(GpuAttention, KvStoreWritesF32AndRoundsF16ToNearestEven) {
  std::mt19937 rng(5);
  const int n_kv = 40, T = 4, n_cells = 9;
  const int64_t src_stride = n_kv + 6;
  auto src = random_floats(rng, static_cast<size_t>(T * src_stride), 3.0f);
  // Values whose F16 rounding is delicate: halfway cases, subnormals, overflow, signed zero.
  const float special[] = {1.0f + 0x1p-11f,
                           1.0f + 3 * 0x1p-11f,
                           0x1p-25f,
                           0x1.8p-25f,
                           0x1p-26f,
                           0x1.4p-20f,
                           65519.0f,
                           65520.0f,
                           1e6f,
                           -0.0f,
                           -2.5e-6f,
                           0x1.ffep-15f};
  for (size_t i = 0; i < std::size(special); ++i) src[i] = special[i];
  const std::vector<int32_t> cells = {7, 2, 8, 0};
  for (KvCells type : {KvCells::f32, KvCells::f16}) {
    const bool f16 = type == KvCells::f16;
    const int64_t row_stride = (n_kv + 4) * (f16 ? 2 : 4);
    const size_t words = static_cast<size_t>(n_cells * row_stride / 4);
    std::vector<uint32_t> want(words, 0xdeadbeefu);
    for (int t = 0; t < T; ++t) {
      auto* row = reinterpret_cast<uint8_t*>(want.data()) + cells[t] * row_stride;
      for (int i = 0; i < n_kv; ++i) {
        const float v = src[t * src_stride + i];
        if (f16) {
          const uint16_t h = kernels::f32_to_f16(v);
          std::memcpy(row + 2 * i, &h, 2);
        } else {
          std::memcpy(row + 4 * i, &v, 4);
        }
      }
    }
    Span cache = put(std::vector<uint32_t>(words, 0xdeadbeefu));
    Commands commands(dev());
    commands.kv_store(put(src), src_stride, put(cells), T, n_kv, cache, row_stride, type);
    commands.run();
    const auto got = get<uint32_t>(cache);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << (f16 ? "F16" : "F32") << " word " << i << " (cell "
                                 << i * 4 / row_stride << ")";
  }
}

struct Case {
  int H, Hkv, D;
  KvCells type;
};

class GpuAttentionCases : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(GpuAttentionCases, MatchesTheCpuOverCellsReadInPlace) {
  const Case c = GetParam();
  std::mt19937 rng(6 + c.D);
  const bool f16 = c.type == KvCells::f16;
  const int n_cells = 260, KV = c.Hkv * c.D;
  const int64_t row_floats = KV + 8;  // padded rows
  const int64_t row_stride = row_floats * (f16 ? 2 : 4);
  // The cache as the device holds it, and the same values as F32 for the CPU.
  std::vector<float> kf = random_floats(rng, static_cast<size_t>(n_cells * row_floats));
  std::vector<float> vf = random_floats(rng, kf.size());
  std::vector<uint32_t> kdev, vdev;
  auto store = [&](std::vector<float>& v, std::vector<uint32_t>& dev_words) {
    if (f16) {
      std::vector<uint16_t> h(v.size());
      for (size_t i = 0; i < v.size(); ++i) {
        h[i] = kernels::f32_to_f16(v[i]);
        v[i] = kernels::f16_to_f32(h[i]);
      }
      dev_words.resize(h.size() / 2);
      std::memcpy(dev_words.data(), h.data(), dev_words.size() * 4);
    } else {
      dev_words.resize(v.size());
      std::memcpy(dev_words.data(), v.data(), v.size() * 4);
    }
  };
  store(kf, kdev);
  store(vf, vdev);

  // Two sequences: A owns 150 cells, B 100, both in a shuffled order.
  std::vector<int32_t> perm(n_cells);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<int32_t> cells(perm.begin(), perm.begin() + 250);
  // Tokens: (base, lo, hi) — full runs, one cell, sliding windows, runs across tile boundaries.
  const std::vector<int32_t> base = {0, 0, 0, 150, 150, 150};
  const std::vector<int32_t> lo = {0, 0, 90, 0, 30, 64};
  const std::vector<int32_t> hi = {150, 1, 150, 100, 64, 65};
  const int T = static_cast<int>(base.size());
  const int Q = c.H * c.D;
  const auto q = random_floats(rng, static_cast<size_t>(T * Q));
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));

  std::vector<float> want(static_cast<size_t>(T * Q));
  for (int t = 0; t < T; ++t) {
    const int n = hi[t] - lo[t];
    for (int h = 0; h < c.H; ++h) {
      const int g = h / (c.H / c.Hkv);
      std::vector<float> k(static_cast<size_t>(n * c.D)), v(k.size()),
          scores(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        const int cell = cells[base[t] + lo[t] + j];
        std::copy_n(&kf[cell * row_floats + g * c.D], c.D, &k[j * c.D]);
        std::copy_n(&vf[cell * row_floats + g * c.D], c.D, &v[j * c.D]);
      }
      model::attend(&q[t * Q + h * c.D], k.data(), v.data(), n, c.D, c.D, scale, scores.data(),
                    &want[t * Q + h * c.D]);
    }
  }

  Span out = make(want.size());
  Commands commands(dev());
  commands.attention(put(q), out, T, c.H, c.Hkv, c.D, scale, put(kdev), put(vdev), row_stride,
                     c.type, put(cells), put(base), put(lo), put(hi));
  commands.run();
  expect_close(get(out), want, 2e-5f, "attention");
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuAttentionCases,
                         ::testing::Values(Case{8, 2, 64, KvCells::f32},
                                           Case{8, 2, 64, KvCells::f16},
                                           Case{4, 4, 80, KvCells::f32},
                                           Case{6, 2, 128, KvCells::f16},
                                           Case{2, 1, 10, KvCells::f32}),
                         [](const auto& info) {
                           const Case& c = info.param;
                           return "H" + std::to_string(c.H) + "_Hkv" + std::to_string(c.Hkv) +
                                  "_D" + std::to_string(c.D) +
                                  (c.type == KvCells::f16 ? "_f16" : "_f32");
                         });

}  // namespace
}  // namespace hearth::gpu::test
