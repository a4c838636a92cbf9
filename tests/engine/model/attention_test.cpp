// attend_rows (tiled attention reading the KV cache in place, online softmax) against attend()
// (the plain path: scores, softmax, then V) on rows copied out and widened to F32, for F32, F16
// and Q8_0 caches, scattered cells, lengths on and off the tile size, causal runs and sliding
// windows as the forward pass builds them, several group sizes and every kernel set this CPU
// runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "engine/kernels/attention.h"
#include "engine/kernels/half.h"
#include "engine/model/ops.h"

namespace hearth::model {
namespace {

using kernels::KernelSet;

struct Case {
  int n_rep, head_dim, n_kv_head, n_tokens, n;  // n: cells of the sequence (positions 0..n-1)
  int window = 0;                                // 0: causal over every earlier position
};

void check(const Case& c, KvType type, KernelSet set) {
  std::mt19937 gen(static_cast<unsigned>(7 + c.n_rep * 100 + c.n * 7 + c.head_dim));
  std::normal_distribution<float> normal(0.f, 1.f);
  const int D = c.head_dim, KV = c.n_kv_head * D;
  const int n_cells = c.n + 11;
  // The cache: n_cells rows of KV values in the cache type; the sequence uses n scattered cells.
  const size_t row_bytes = kv_row_bytes(type, KV);
  std::vector<uint8_t> kc(row_bytes * static_cast<size_t>(n_cells)), vc(kc.size());
  std::vector<float> kw(static_cast<size_t>(n_cells * KV)), vw(kw.size());  // widened
  const auto widen = kernels::type_ops(type == KvType::q8_0 ? kernels::TensorType::q8_0
                                                            : kernels::TensorType::f16,
                                       KernelSet::reference);
  const auto q8 = kernels::type_ops(kernels::TensorType::q8_0, KernelSet::reference);
  std::vector<float> row(static_cast<size_t>(KV));
  for (int cell = 0; cell < n_cells; ++cell)
    for (int which = 0; which < 2; ++which) {
      for (auto& x : row) x = normal(gen);
      uint8_t* dst = (which ? vc : kc).data() + row_bytes * static_cast<size_t>(cell);
      float* wide = (which ? vw : kw).data() + static_cast<size_t>(cell * KV);
      if (type == KvType::f32) {
        std::memcpy(dst, row.data(), row_bytes);
        std::copy(row.begin(), row.end(), wide);
      } else if (type == KvType::f16) {
        auto* h = reinterpret_cast<uint16_t*>(dst);
        for (int i = 0; i < KV; ++i) h[i] = kernels::f32_to_f16(row[static_cast<size_t>(i)]);
        widen->to_float(dst, wide, KV);
      } else {
        q8->from_float(row.data(), dst, KV);
        widen->to_float(dst, wide, KV);
      }
    }
  std::vector<int> cells(static_cast<size_t>(n_cells));
  std::iota(cells.begin(), cells.end(), 0);
  std::shuffle(cells.begin(), cells.end(), gen);
  cells.resize(static_cast<size_t>(c.n));

  // The batch's tokens are the last n_tokens positions; token t sees [lo, hi) of the list.
  const int nq = c.n_tokens * c.n_rep;
  std::vector<float> q(static_cast<size_t>(nq * D));
  for (auto& x : q) x = normal(gen);
  std::vector<int> lo(static_cast<size_t>(nq)), hi(lo.size());
  for (int t = 0; t < c.n_tokens; ++t)
    for (int r = 0; r < c.n_rep; ++r) {
      const int end = c.n - c.n_tokens + t + 1;
      hi[static_cast<size_t>(t * c.n_rep + r)] = end;
      lo[static_cast<size_t>(t * c.n_rep + r)] = c.window > 0 ? std::max(0, end - c.window) : 0;
    }
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  for (int g = 0; g < c.n_kv_head; ++g) {
    std::vector<float> expected(q.size()), got(q.size(), -7.f);
    for (int i = 0; i < nq; ++i) {
      // Plain path: the row's run of cells gathered, then attend().
      const int n = hi[static_cast<size_t>(i)] - lo[static_cast<size_t>(i)];
      std::vector<float> kg(static_cast<size_t>(n * D)), vg(kg.size()), scores(static_cast<size_t>(n));
      for (int j = 0; j < n; ++j) {
        const int cell = cells[static_cast<size_t>(lo[static_cast<size_t>(i)] + j)];
        for (int d = 0; d < D; ++d) {
          kg[static_cast<size_t>(j * D + d)] = kw[static_cast<size_t>(cell * KV + g * D + d)];
          vg[static_cast<size_t>(j * D + d)] = vw[static_cast<size_t>(cell * KV + g * D + d)];
        }
      }
      attend(&q[static_cast<size_t>(i * D)], kg.data(), vg.data(), n, D, D, scale, scores.data(),
             &expected[static_cast<size_t>(i * D)]);
    }
    std::vector<const float*> q_rows;
    std::vector<float*> out_rows;
    for (int i = 0; i < nq; ++i) {
      q_rows.push_back(&q[static_cast<size_t>(i * D)]);
      out_rows.push_back(&got[static_cast<size_t>(i * D)]);
    }
    KvHead head;
    head.k = kc.data() + kv_row_bytes(type, g * D);
    head.v = vc.data() + kv_row_bytes(type, g * D);
    head.type = type;
    head.stride = static_cast<int64_t>(row_bytes);
    head.cells = cells.data();
    attend_rows(q_rows.data(), out_rows.data(), lo.data(), hi.data(), nq, D, head, scale, set);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], expected[i], 2e-5f + 2e-5f * std::fabs(expected[i]))
          << "value " << i << " group " << g << " n_rep " << c.n_rep << " D " << D << " n "
          << c.n << " tokens " << c.n_tokens << " window " << c.window << " "
          << kv_type_name(type) << " set " << kernels::kernel_set_name(set);
  }
}

std::vector<KernelSet> sets() {
  std::vector<KernelSet> out;
  for (KernelSet set : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512})
    if (kernels::kernel_set_available(set)) out.push_back(set);
  return out;
}

TEST(AttendRows, DecodingMatchesThePlainPath) {
  // One token: its n_rep heads (few rows: the head dimension in lanes).
  for (KernelSet set : sets())
    for (KvType type : {KvType::f32, KvType::f16})
      for (const Case& c : {Case{1, 16, 2, 1, 5}, Case{4, 64, 2, 1, 33}, Case{2, 24, 3, 1, 64},
                            Case{4, 8, 2, 1, 65}, Case{4, 128, 1, 1, 300}, Case{1, 256, 1, 1, 130},
                            Case{2, 64, 2, 1, 200, 48}})
        check(c, type, set);
}

TEST(AttendRows, PromptBlocksMatchThePlainPath) {
  // Several tokens of one sequence (many rows: queries in lanes), causal runs that end inside
  // and across tiles, more rows than one kernel call takes.
  for (KernelSet set : sets())
    for (KvType type : {KvType::f32, KvType::f16})
      for (const Case& c : {Case{4, 64, 2, 16, 16}, Case{2, 16, 2, 7, 70}, Case{1, 24, 1, 40, 129},
                            Case{8, 8, 1, 3, 64}, Case{4, 64, 1, 20, 150}, Case{3, 32, 2, 5, 5}})
        check(c, type, set);
}

TEST(AttendRows, SlidingWindowsMatchThePlainPath) {
  // Windows that start mid-tile and tokens whose windows start in different tiles.
  for (KernelSet set : sets())
    for (KvType type : {KvType::f32, KvType::f16})
      for (const Case& c : {Case{2, 32, 2, 12, 200, 10}, Case{4, 64, 1, 30, 300, 70},
                            Case{1, 16, 1, 1, 90, 1}})
        check(c, type, set);
}

TEST(AttendRows, Q8_0CacheMatchesThePlainPath) {
  for (KernelSet set : sets())
    for (const Case& c : {Case{4, 64, 2, 1, 100}, Case{4, 64, 2, 24, 130}, Case{2, 128, 1, 9, 65, 20}})
      check(c, KvType::q8_0, set);
}

TEST(AttendRows, ReusesItsScratchAcrossSizes) {
  // Growing then shrinking on one thread: the per-thread scratch must not leak old values.
  for (const Case& c : {Case{4, 32, 1, 1, 3}, Case{4, 32, 1, 30, 200}, Case{4, 32, 1, 1, 7},
                        Case{1, 16, 1, 2, 2}})
    check(c, KvType::f16, KernelSet::reference);
}

}  // namespace
}  // namespace hearth::model
