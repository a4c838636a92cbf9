// attend_group (grouped-query attention reading the KV cache in place) against attend() on
// copied-out rows, for F32 and F16 caches, scattered cells and several group sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "engine/kernels/half.h"
#include "engine/model/ops.h"

namespace hearth::model {
namespace {

using kernels::KernelSet;

struct Case {
  int n_rep, head_dim, n_kv_head, n_cells, n;
};

void check(const Case& c, bool f16, KernelSet set) {
  std::mt19937 gen(7 + c.n_rep * 100 + c.n);
  std::normal_distribution<float> normal(0.f, 1.f);
  const int KV = c.n_kv_head * c.head_dim;
  // The cache: n_cells rows of KV values; the sequence uses n scattered cells.
  std::vector<float> k(static_cast<size_t>(c.n_cells * KV)), v(k.size());
  for (auto& x : k) x = normal(gen);
  for (auto& x : v) x = normal(gen);
  std::vector<uint16_t> k16(k.size()), v16(v.size());
  for (size_t i = 0; i < k.size(); ++i) {
    k16[i] = kernels::f32_to_f16(k[i]);
    v16[i] = kernels::f32_to_f16(v[i]);
    if (f16) {  // the reference sees the rounded values
      k[i] = kernels::f16_to_f32(k16[i]);
      v[i] = kernels::f16_to_f32(v16[i]);
    }
  }
  std::vector<int> cells(static_cast<size_t>(c.n_cells));
  std::iota(cells.begin(), cells.end(), 0);
  std::shuffle(cells.begin(), cells.end(), gen);
  cells.resize(static_cast<size_t>(c.n));
  std::vector<float> q(static_cast<size_t>(c.n_rep * c.head_dim));
  for (auto& x : q) x = normal(gen);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  for (int g = 0; g < c.n_kv_head; ++g) {
    // Reference: gather the group's rows, then attend() per query head.
    std::vector<float> kg(static_cast<size_t>(c.n * c.head_dim)), vg(kg.size());
    for (int j = 0; j < c.n; ++j)
      for (int d = 0; d < c.head_dim; ++d) {
        kg[static_cast<size_t>(j * c.head_dim + d)] = k[static_cast<size_t>(cells[j] * KV + g * c.head_dim + d)];
        vg[static_cast<size_t>(j * c.head_dim + d)] = v[static_cast<size_t>(cells[j] * KV + g * c.head_dim + d)];
      }
    std::vector<float> expected(q.size()), scores(static_cast<size_t>(c.n));
    for (int r = 0; r < c.n_rep; ++r)
      attend(&q[static_cast<size_t>(r * c.head_dim)], kg.data(), vg.data(), c.n, c.head_dim,
             c.head_dim, scale, scores.data(), &expected[static_cast<size_t>(r * c.head_dim)]);

    KvRows rows;
    rows.f16 = f16;
    rows.stride = KV;
    rows.cells = cells.data();
    rows.n = c.n;
    if (f16) {
      rows.k = k16.data() + g * c.head_dim;
      rows.v = v16.data() + g * c.head_dim;
    } else {
      rows.k = k.data() + g * c.head_dim;
      rows.v = v.data() + g * c.head_dim;
    }
    std::vector<float> got(q.size(), -1.f);
    attend_group(q.data(), c.n_rep, c.head_dim, rows, scale, set, got.data());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], expected[i], 1e-5f)
          << "value " << i << " group " << g << " n_rep " << c.n_rep << " n " << c.n
          << (f16 ? " f16" : " f32") << " set " << kernels::kernel_set_name(set);
  }
}

TEST(AttendGroup, MatchesAttendOnCopiedRows) {
  for (KernelSet set : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512}) {
    if (!kernels::kernel_set_available(set)) continue;
    for (bool f16 : {false, true})
      for (const Case& c : {Case{1, 16, 2, 5, 1}, Case{4, 64, 2, 40, 33}, Case{2, 24, 3, 9, 9},
                            Case{8, 128, 1, 300, 257}})
        check(c, f16, set);
  }
}

TEST(AttendGroup, ReusesItsScratchAcrossSizes) {
  // Growing then shrinking n on one thread: the per-thread scratch must not leak old scores.
  for (int n : {3, 200, 7, 1}) check(Case{4, 32, 1, 256, n}, false, KernelSet::reference);
}

}  // namespace
}  // namespace hearth::model
