// vec_dot_multi (kernels.h): one weight row against several prepared activation rows. Checked
// against the reference vec_dot within the SIMD tolerance, and for bit-identity: a row's result
// must not depend on how many rows share the call or where it sits among them. Then matmul's
// one-token path: a token's outputs are the same bits alone or among other tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "engine/kernels/matmul.h"
#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

constexpr int kMaxRows = 8;  // more than kMultiDotRows: the kernels group larger counts

std::vector<int64_t> lengths(T type) {
  if (test::block_size(type) == 256) return {256, 512, 768, 1024, 2048};
  // 32-value blocks: every remainder of the 4-block main loop, and model widths.
  return {32, 64, 96, 128, 160, 224, 512, 2048};
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Activation rows converted to vec_dot_type, and the same rows in the multi kernel's layout.
struct Rows {
  std::vector<std::vector<float>> f;
  std::vector<std::vector<uint8_t>> converted;
  std::vector<uint8_t> prepared;  // kMaxRows rows of `stride` bytes
  size_t stride = 0;
};

Rows make_rows(const TypeOps& ops, KernelSet set, int64_t n, std::mt19937& rng) {
  const TypeOps* act = type_ops(ops.vec_dot_type, set);
  Rows r;
  r.stride = ops.multi_row_bytes ? ops.multi_row_bytes(n) : row_bytes(ops.vec_dot_type, n);
  r.prepared.resize(r.stride * kMaxRows);
  for (int t = 0; t < kMaxRows; ++t) {
    r.f.push_back(test::random_floats(rng, n));
    r.converted.emplace_back(row_bytes(ops.vec_dot_type, n));
    act->from_float(r.f.back().data(), r.converted.back().data(), n);
    if (ops.multi_prepare) {
      ops.multi_prepare(r.converted.back().data(), r.prepared.data() + t * r.stride, n);
    } else {
      std::memcpy(r.prepared.data() + t * r.stride, r.converted.back().data(), r.stride);
    }
  }
  return r;
}

struct Param {
  KernelSet set;
  T type;
};

std::string param_name(const testing::TestParamInfo<Param>& info) {
  return std::string(kernel_set_name(info.param.set)) + "_" +
         std::string(gguf::tensor_type_name(info.param.type));
}

class MultiDot : public testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (!kernel_set_available(GetParam().set)) {
      GTEST_SKIP() << "kernel set " << kernel_set_name(GetParam().set)
                   << " not available on this CPU (it has: " << cpu_features().describe() << ")";
    }
    ops_ = type_ops(GetParam().type, GetParam().set);
    ASSERT_NE(ops_, nullptr);
    ASSERT_NE(ops_->vec_dot_multi, nullptr) << "the kernel set lost its multi-row kernel";
  }
  const TypeOps* ops_ = nullptr;
};

TEST_P(MultiDot, MatchesTheReferenceVecDot) {
  const T type = GetParam().type;
  const TypeOps* ref = type_ops(type, KernelSet::reference);
  std::mt19937 rng(100 + static_cast<uint32_t>(type));
  for (int64_t n : lengths(type)) {
    for (int rep = 0; rep < 4; ++rep) {
      const std::vector<uint8_t> w = test::random_row(type, n, rng);
      const Rows x = make_rows(*ops_, GetParam().set, n, rng);
      const std::vector<float> wf = test::dequantize(type, w.data(), n);
      for (int nx = 1; nx <= kMaxRows; ++nx) {
        float out[kMaxRows];
        ops_->vec_dot_multi(n, w.data(), x.prepared.data(), x.stride, nx, out);
        for (int t = 0; t < nx; ++t) {
          const float want = ref->vec_dot(n, w.data(), x.converted[t].data());
          const std::vector<float> xf =
              test::dequantize(ref->vec_dot_type, x.converted[t].data(), n);
          double magnitude = 0;
          for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(double(wf[i]) * xf[i]);
          ASSERT_NEAR(out[t], want, 1e-5 * magnitude + 1e-30)
              << "n=" << n << " rep=" << rep << " nx=" << nx << " row=" << t;
        }
      }
    }
  }
}

TEST_P(MultiDot, EveryRowIsBitIdenticalToItselfAlone) {
  const T type = GetParam().type;
  std::mt19937 rng(200 + static_cast<uint32_t>(type));
  for (int64_t n : lengths(type)) {
    const std::vector<uint8_t> w = test::random_row(type, n, rng);
    const Rows x = make_rows(*ops_, GetParam().set, n, rng);
    float alone[kMaxRows];
    for (int t = 0; t < kMaxRows; ++t)
      ops_->vec_dot_multi(n, w.data(), x.prepared.data() + t * x.stride, x.stride, 1, &alone[t]);
    // Every window of nx consecutive rows: each row in every position of every group size.
    for (int nx = 1; nx <= kMaxRows; ++nx) {
      for (int first = 0; first + nx <= kMaxRows; ++first) {
        float out[kMaxRows];
        ops_->vec_dot_multi(n, w.data(), x.prepared.data() + first * x.stride, x.stride, nx, out);
        for (int k = 0; k < nx; ++k) {
          ASSERT_EQ(bits(out[k]), bits(alone[first + k]))
              << "n=" << n << " nx=" << nx << " first=" << first << " position=" << k;
        }
      }
    }
  }
}

// The types each SIMD set has a multi-row kernel for (the others loop vec_dot in matmul).
const std::vector<Param>& multi_kernels() {
  static const std::vector<Param> list = {
      {KernelSet::avx2, T::q4_0},   {KernelSet::avx512, T::q4_0}, {KernelSet::avx512, T::q8_0},
      {KernelSet::avx512, T::q6_k}, {KernelSet::avx512, T::q4_k}};
  return list;
}

INSTANTIATE_TEST_SUITE_P(Rows, MultiDot, testing::ValuesIn(multi_kernels()), param_name);

// The list above is the whole truth: a kernel added or lost shows up here.
TEST(MultiDotCoverage, ExactlyTheListedTypesHaveMultiRowKernels) {
  for (KernelSet set : {KernelSet::avx2, KernelSet::avx512}) {
    if (!kernel_set_available(set)) continue;
    for (T type : test::kWeightTypes) {
      const TypeOps* ops = type_ops(type, set);
      ASSERT_NE(ops, nullptr);
      bool listed = false;
      for (const auto& p : multi_kernels()) listed |= p.set == set && p.type == type;
      EXPECT_EQ(ops->vec_dot_multi != nullptr, listed)
          << kernel_set_name(set) << " " << gguf::tensor_type_name(type);
    }
  }
}

// ---- matmul, one-token path ----

std::vector<float> one_token_matmul(const WeightMatrix& w, const float* x, int64_t n_tokens,
                                    KernelSet set, ThreadPool* pool) {
  std::vector<float> y(static_cast<size_t>(n_tokens * w.n_out), -1.f);
  MatmulOptions o;
  o.kernels = set;
  o.arithmetic = Arithmetic::quantized_activations;
  o.pool = pool;
  o.path = MatmulOptions::Path::one_token;
  matmul(w, x, n_tokens, y.data(), o);
  return y;
}

TEST(MultiDotMatmul, OneTokenPathGivesATokenTheSameBitsAloneOrWithOthers) {
  constexpr int64_t kTokens = 7;
  ThreadPool pool(2);
  for (KernelSet set : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512}) {
    if (!kernel_set_available(set)) continue;
    for (T type : test::kWeightTypes) {
      SCOPED_TRACE(std::string(kernel_set_name(set)) + " " +
                   std::string(gguf::tensor_type_name(type)));
      const int64_t n_in = test::block_size(type) == 256 ? 512 : 224;
      const int64_t n_out = 9;
      std::mt19937 rng(400 + static_cast<uint32_t>(type));
      std::vector<uint8_t> wbytes;
      for (int64_t r = 0; r < n_out; ++r) {
        const auto row = test::random_row(type, n_in, rng);
        wbytes.insert(wbytes.end(), row.begin(), row.end());
      }
      const WeightMatrix w{type, wbytes.data(), n_in, n_out};
      const std::vector<float> x = test::random_floats(rng, n_in * kTokens);
      std::vector<std::vector<float>> alone;
      for (int64_t t = 0; t < kTokens; ++t)
        alone.push_back(one_token_matmul(w, x.data() + t * n_in, 1, set, nullptr));
      for (int64_t count = 1; count <= kTokens; ++count) {
        for (int64_t first = 0; first + count <= kTokens; ++first) {
          const auto y =
              one_token_matmul(w, x.data() + first * n_in, count, set, count % 2 ? &pool : nullptr);
          for (int64_t k = 0; k < count; ++k) {
            for (int64_t r = 0; r < n_out; ++r) {
              ASSERT_EQ(bits(y[k * n_out + r]), bits(alone[first + k][r]))
                  << "count=" << count << " first=" << first << " token=" << k << " row=" << r;
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace hearth::kernels
