// Every row the SIMD kernel sets (avx2, avx512) override, against the scalar reference row on
// random blocks: vec_dot within a relative tolerance (integer sums inside blocks are exact, only
// the F32 summation order differs), from_float and to_float bit-identical. Sets this CPU lacks
// are skipped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "engine/gguf/tensor_type.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

struct F16Field {
  size_t offset;
  bool is_min;  // the additive part (Q4_1/Q5_1 m, K-quant dmin)
};

// Where each weight type keeps its F16 scale fields (byte offset in the block).
std::vector<F16Field> f16_fields(T type) {
  switch (type) {
    case T::q4_0:
    case T::q5_0:
    case T::q8_0:
    case T::iq4_nl:
      return {{0, false}};
    case T::q4_1:
    case T::q5_1:
      return {{0, false}, {2, true}};
    case T::q2_k:
      return {{80, false}, {82, true}};
    case T::q3_k:
      return {{108, false}};
    case T::q4_k:
    case T::q5_k:
      return {{0, false}, {2, true}};
    case T::q6_k:
      return {{208, false}};
    default:
      return {};
  }
}

uint32_t block_size(T type) {
  return gguf::traits(type).block_size;
}
uint32_t type_size(T type) {
  return gguf::traits(type).type_size;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(gen_); }
  float normal() { return std::normal_distribution<float>(0.f, 1.f)(gen_); }
  int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(gen_); }
  uint8_t byte() { return static_cast<uint8_t>(below(256)); }

 private:
  std::mt19937_64 gen_;
};

// A random F16 scale: mostly ordinary magnitudes of either sign, sometimes 0, tiny or large.
uint16_t random_scale(Rng& rng) {
  switch (rng.below(8)) {
    case 0:
      return f32_to_f16(0.f);
    case 1:
      return f32_to_f16(-rng.uniform(1e-3f, 2.f));
    case 2:
      return f32_to_f16(rng.uniform(100.f, 3000.f) * (rng.below(2) ? 1.f : -1.f));
    case 3:
      return f32_to_f16(rng.uniform(1e-7f, 1e-5f));  // subnormal F16
    default:
      return f32_to_f16(rng.uniform(1e-3f, 2.f));
  }
}

// Random float values for `n` elements, block by block with varying magnitudes; `bs` is the
// block size of the activation format (whole zero blocks and tie cases included).
std::vector<float> random_floats(Rng& rng, int64_t n, int64_t bs) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t b0 = 0; b0 < n; b0 += bs) {
    const int64_t end = std::min(n, b0 + bs);
    const int kind = rng.below(10);
    const float scale = std::pow(10.f, rng.uniform(-3.f, 2.f));
    for (int64_t i = b0; i < end; ++i) {
      float x = rng.normal() * scale;
      if (kind == 0) x = 0.f;
      if (kind == 1) x = static_cast<float>(rng.below(255) - 127) * 0.5f;  // ties after scaling
      if (kind == 2 && i == b0) x = -127.f;  // largest magnitude negative, ties below
      if (kind == 2 && i != b0) x = static_cast<float>(rng.below(255) - 127) * 0.5f;
      if (kind == 3 && rng.below(4) == 0) x = -x;
      v[static_cast<size_t>(i)] = x;
    }
    if (kind == 4 && end - b0 > 3) {  // equal largest magnitudes of both signs: the first wins
      v[static_cast<size_t>(b0 + 1)] = 50.f;
      v[static_cast<size_t>(b0 + 2)] = -50.f;
    }
  }
  return v;
}

// Random weight bytes of `type`: random bits everywhere, valid random F16 scales.
std::vector<uint8_t> random_weights(Rng& rng, T type, int64_t n) {
  const size_t bytes = row_bytes(type, n);
  std::vector<uint8_t> w(bytes);
  if (type == T::f32 || type == T::f16 || type == T::bf16) {
    const std::vector<float> f = random_floats(rng, n, 32);
    if (type == T::f32) std::memcpy(w.data(), f.data(), bytes);
    for (int64_t i = 0; i < n && type != T::f32; ++i) {
      const uint16_t h = type == T::f16 ? f32_to_f16(f[i]) : f32_to_bf16(f[i]);
      std::memcpy(w.data() + 2 * i, &h, 2);
    }
    return w;
  }
  for (auto& b : w) b = rng.byte();
  const size_t ts = type_size(type);
  for (size_t blk = 0; blk < bytes / ts; ++blk) {
    for (const F16Field& f : f16_fields(type)) {
      const uint16_t h = random_scale(rng);
      std::memcpy(w.data() + blk * ts + f.offset, &h, 2);
    }
  }
  return w;
}

// Σ|terms| bound for the accumulation-order difference: Σ (|scale part| + |min part|)·|x|.
double magnitude(T type, const std::vector<uint8_t>& w, const std::vector<uint8_t>& x, int64_t n) {
  const TypeOps* wr = type_ops(type, KernelSet::reference);
  const TypeOps* xr = type_ops(wr->vec_dot_type, KernelSet::reference);
  std::vector<float> xf(static_cast<size_t>(n));
  xr->to_float(x.data(), xf.data(), n);
  const size_t ts = type_size(type);
  auto dequant_with = [&](bool keep_min) {
    std::vector<uint8_t> copy = w;
    for (size_t blk = 0; blk < copy.size() / ts; ++blk) {
      for (const F16Field& f : f16_fields(type)) {
        if (f.is_min != keep_min) std::memset(copy.data() + blk * ts + f.offset, 0, 2);
      }
    }
    std::vector<float> out(static_cast<size_t>(n));
    wr->to_float(copy.data(), out.data(), n);
    return out;
  };
  bool has_min = false;
  for (const F16Field& f : f16_fields(type)) has_min |= f.is_min;
  const std::vector<float> a = has_min ? dequant_with(false) : [&] {
    std::vector<float> out(static_cast<size_t>(n));
    wr->to_float(w.data(), out.data(), n);
    return out;
  }();
  const std::vector<float> b = has_min ? dequant_with(true) : std::vector<float>(a.size(), 0.f);
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    m += (std::fabs(static_cast<double>(a[i])) + std::fabs(static_cast<double>(b[i]))) *
         std::fabs(static_cast<double>(xf[i]));
  }
  return m;
}

std::vector<int64_t> lengths(T type) {
  const int64_t bs = block_size(type);
  if (bs == 1) return {1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 4096, 4099};
  if (bs == 256) return {256, 512, 768, 1024, 4096};
  return {32, 64, 96, 224, 512, 4096};
}

struct Param {
  KernelSet set;
  T type;
};

std::string param_name(const testing::TestParamInfo<Param>& info) {
  return std::string(kernel_set_name(info.param.set)) + "_" +
         std::string(gguf::tensor_type_name(info.param.type));
}

class SimdKernels : public testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (!kernel_set_available(GetParam().set)) {
      GTEST_SKIP() << "kernel set " << kernel_set_name(GetParam().set)
                   << " not available on this CPU (it has: " << cpu_features().describe() << ")";
    }
  }
};

TEST_P(SimdKernels, VecDotMatchesReference) {
  const T type = GetParam().type;
  const TypeOps* simd = type_ops(type, GetParam().set);
  const TypeOps* ref = type_ops(type, KernelSet::reference);
  ASSERT_NE(simd, nullptr);
  ASSERT_NE(ref, nullptr);
  ASSERT_EQ(simd->vec_dot_type, ref->vec_dot_type);
  EXPECT_NE(simd->vec_dot, ref->vec_dot) << "no SIMD row installed";
  const TypeOps* act = type_ops(ref->vec_dot_type, KernelSet::reference);
  Rng rng(1000 + static_cast<uint64_t>(type) * 7 + static_cast<uint64_t>(GetParam().set));
  for (int64_t n : lengths(type)) {
    for (int rep = 0; rep < 20; ++rep) {
      const std::vector<uint8_t> w = random_weights(rng, type, n);
      const std::vector<float> xf = random_floats(
          rng, n, block_size(ref->vec_dot_type) == 1 ? 32 : block_size(ref->vec_dot_type));
      std::vector<uint8_t> x(row_bytes(ref->vec_dot_type, n));
      act->from_float(xf.data(), x.data(), n);
      const float want = ref->vec_dot(n, w.data(), x.data());
      const float got = simd->vec_dot(n, w.data(), x.data());
      const double tol = 1e-5 * magnitude(type, w, x, n) + 1e-30;
      ASSERT_NEAR(got, want, tol) << "n=" << n << " rep=" << rep;
    }
  }
}

TEST_P(SimdKernels, ToFloatIsBitIdentical) {
  const T type = GetParam().type;
  const TypeOps* simd = type_ops(type, GetParam().set);
  const TypeOps* ref = type_ops(type, KernelSet::reference);
  Rng rng(2000 + static_cast<uint64_t>(type));
  for (int64_t n : lengths(type)) {
    std::vector<uint8_t> w = random_weights(rng, type, n);
    std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    ref->to_float(w.data(), want.data(), n);
    simd->to_float(w.data(), got.data(), n);
    ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0) << "n=" << n;
  }
}

const T kWeightTypes[] = {T::f32,  T::f16,    T::bf16, T::q8_0, T::q4_0, T::q4_1, T::q5_0,
                          T::q5_1, T::iq4_nl, T::q2_k, T::q3_k, T::q4_k, T::q5_k, T::q6_k};

std::vector<Param> params(const T* types, size_t count) {
  std::vector<Param> out;
  for (KernelSet set : {KernelSet::avx2, KernelSet::avx512}) {
    for (size_t i = 0; i < count; ++i) out.push_back({set, types[i]});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Rows, SimdKernels,
                         testing::ValuesIn(params(kWeightTypes, std::size(kWeightTypes))),
                         param_name);

// ---- activation quantizers and float conversions: bit-identical ----

class SimdFromFloat : public SimdKernels {};

TEST_P(SimdFromFloat, FromFloatIsBitIdentical) {
  const T type = GetParam().type;
  const TypeOps* simd = type_ops(type, GetParam().set);
  const TypeOps* ref = type_ops(type, KernelSet::reference);
  ASSERT_NE(simd->from_float, nullptr);
  Rng rng(3000 + static_cast<uint64_t>(type));
  const int64_t bs = block_size(type);
  for (int64_t n : lengths(type)) {
    for (int rep = 0; rep < 50; ++rep) {
      std::vector<float> xf = random_floats(rng, n, bs == 1 ? 32 : bs);
      if (bs == 1 && rep == 0) {  // special values of the F16 / BF16 conversions
        const float specials[] = {std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(),
                                  65504.f,
                                  65519.f,
                                  65520.f,
                                  1e6f,
                                  -1e6f,
                                  6e-8f,
                                  3e-8f,
                                  2.98e-8f,
                                  1e-40f,
                                  -0.f,
                                  1.00048828125f,
                                  1.0009765625f,
                                  3.0e38f};
        for (size_t i = 0; i < xf.size(); ++i) xf[i] = specials[i % std::size(specials)];
      }
      std::vector<uint8_t> want(row_bytes(type, n)), got(row_bytes(type, n));
      ref->from_float(xf.data(), want.data(), n);
      simd->from_float(xf.data(), got.data(), n);
      ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size()), 0)
          << "n=" << n << " rep=" << rep;
    }
  }
}

const T kActivationTypes[] = {T::q8_0, T::q8_1, T::q8_k, T::f16, T::bf16};

INSTANTIATE_TEST_SUITE_P(Rows, SimdFromFloat,
                         testing::ValuesIn(params(kActivationTypes, std::size(kActivationTypes))),
                         param_name);

// Every F16 / BF16 bit pattern except NaNs converts exactly as the reference does.
TEST(SimdHalf, EveryF16AndBf16ValueConvertsLikeTheReference) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint16_t>(i);
  for (KernelSet set : {KernelSet::avx2, KernelSet::avx512}) {
    if (!kernel_set_available(set)) continue;
    for (T type : {T::f16, T::bf16}) {
      SCOPED_TRACE(std::string(kernel_set_name(set)) + " " +
                   std::string(gguf::tensor_type_name(type)));
      std::vector<float> want(all.size()), got(all.size());
      type_ops(type, KernelSet::reference)->to_float(all.data(), want.data(), 65536);
      type_ops(type, set)->to_float(all.data(), got.data(), 65536);
      for (size_t i = 0; i < all.size(); ++i) {
        if (std::isnan(want[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << i;
          continue;
        }
        uint32_t a, b;
        std::memcpy(&a, &want[i], 4);
        std::memcpy(&b, &got[i], 4);
        ASSERT_EQ(a, b) << "bits " << i;
      }
    }
  }
}

}  // namespace
}  // namespace hearth::kernels
