// vec_dot of every type against Σ to_float(w)·to_float(x) in double, on random blocks, for every
// kernel set this CPU can run (so SIMD rows are held to the same bound as the reference).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/error.h"
#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using test::kWeightTypes;

std::vector<KernelSet> available_sets() {
  std::vector<KernelSet> sets;
  for (KernelSet s : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512}) {
    if (kernel_set_available(s)) sets.push_back(s);
  }
  return sets;
}

// Q8_1's s is F16(d·Σq) while to_float sees F16(d)·q: the exact dot of a Q4_1 / Q5_1 row uses s
// for the weight block's minimum m, so add m·(s − d·Σq) per block.
double q8_1_correction(TensorType wtype, const void* w, const void* x, int64_t n) {
  if (wtype != TensorType::q4_1 && wtype != TensorType::q5_1) return 0;
  const auto* xb = static_cast<const block_q8_1*>(x);
  double c = 0;
  for (int64_t i = 0; i < n / 32; ++i) {
    const uint16_t m = wtype == TensorType::q4_1 ? static_cast<const block_q4_1*>(w)[i].m
                                                 : static_cast<const block_q5_1*>(w)[i].m;
    int sum = 0;
    for (int8_t q : xb[i].qs) sum += q;
    c += static_cast<double>(f16_to_f32(m)) * (static_cast<double>(f16_to_f32(xb[i].s)) -
                                               static_cast<double>(f16_to_f32(xb[i].d)) * sum);
  }
  return c;
}

TEST(VecDot, EveryTypeMatchesTheDequantizedDotInDouble) {
  for (KernelSet set : available_sets()) {
    for (TensorType type : kWeightTypes) {
      SCOPED_TRACE(std::string(kernel_set_name(set)) + " " +
                   std::string(gguf::tensor_type_name(type)));
      const TypeOps* w_ops = type_ops(type, set);
      ASSERT_NE(w_ops, nullptr);
      ASSERT_NE(w_ops->vec_dot, nullptr);
      const TypeOps* x_ops = type_ops(w_ops->vec_dot_type, set);
      ASSERT_NE(x_ops, nullptr);
      ASSERT_NE(x_ops->from_float, nullptr);
      std::mt19937 rng(static_cast<uint32_t>(type) * 100 + 1);
      for (int trial = 0; trial < 20; ++trial) {
        const int64_t n = 256 * (1 + trial % 4);
        const auto w = test::random_row(type, n, rng);
        const auto xf = test::random_floats(rng, n);
        std::vector<uint8_t> xq(row_bytes(w_ops->vec_dot_type, n));
        x_ops->from_float(xf.data(), xq.data(), n);
        const auto wd = test::dequantize(type, w.data(), n);
        const auto xd = test::dequantize(w_ops->vec_dot_type, xq.data(), n);
        double exact = 0;
        double magnitude = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += static_cast<double>(wd[i]) * xd[i];
          magnitude += std::fabs(static_cast<double>(wd[i]) * xd[i]);
        }
        exact += q8_1_correction(type, w.data(), xq.data(), n);
        const float got = w_ops->vec_dot(n, w.data(), xq.data());
        ASSERT_NEAR(got, exact, 2e-6 * magnitude + 1e-30) << "trial " << trial << " n " << n;
      }
    }
  }
}

TEST(VecDot, SimdRowsKeepTheReferenceFormatsAndDequantizeIdentically) {
  std::mt19937 rng(5);
  for (KernelSet set : available_sets()) {
    for (TensorType type : kWeightTypes) {
      const TypeOps* ref = type_ops(type, KernelSet::reference);
      const TypeOps* ops = type_ops(type, set);
      ASSERT_NE(ops, nullptr);
      EXPECT_EQ(ops->type, type);
      EXPECT_EQ(ops->vec_dot_type, ref->vec_dot_type);
      const auto w = test::random_row(type, 512, rng);
      std::vector<float> a(512), b(512);
      ref->to_float(w.data(), a.data(), 512);
      ops->to_float(w.data(), b.data(), 512);
      EXPECT_EQ(a, b) << kernel_set_name(set) << " " << gguf::tensor_type_name(type);
    }
  }
}

TEST(KernelTable, RowsAndSets) {
  EXPECT_EQ(kernel_set_name(KernelSet::reference), "reference");
  EXPECT_EQ(kernel_set_name(KernelSet::avx2), "avx2");
  EXPECT_EQ(kernel_set_name(KernelSet::avx512), "avx512");
  EXPECT_TRUE(kernel_set_available(KernelSet::reference));
  if (kernel_set_available(KernelSet::avx512)) {
    EXPECT_TRUE(kernel_set_available(KernelSet::avx2));
  }
  EXPECT_TRUE(kernel_set_available(active_kernel_set()));

  const std::pair<TensorType, TensorType> partners[] = {
      {TensorType::f32, TensorType::f32},     {TensorType::f16, TensorType::f16},
      {TensorType::bf16, TensorType::bf16},   {TensorType::q8_0, TensorType::q8_0},
      {TensorType::q4_0, TensorType::q8_0},   {TensorType::q5_0, TensorType::q8_0},
      {TensorType::iq4_nl, TensorType::q8_0}, {TensorType::q4_1, TensorType::q8_1},
      {TensorType::q5_1, TensorType::q8_1},   {TensorType::q2_k, TensorType::q8_k},
      {TensorType::q3_k, TensorType::q8_k},   {TensorType::q4_k, TensorType::q8_k},
      {TensorType::q5_k, TensorType::q8_k},   {TensorType::q6_k, TensorType::q8_k}};
  for (const auto& [w, x] : partners) {
    const TypeOps* ops = type_ops(w, KernelSet::reference);
    ASSERT_NE(ops, nullptr) << gguf::tensor_type_name(w);
    EXPECT_EQ(ops->vec_dot_type, x) << gguf::tensor_type_name(w);
  }
  for (TensorType t : {TensorType::iq2_xxs, TensorType::iq4_xs, TensorType::i8, TensorType::f64,
                       TensorType::tq1_0, TensorType::mxfp4}) {
    EXPECT_EQ(type_ops(t, KernelSet::reference), nullptr) << gguf::tensor_type_name(t);
  }
  EXPECT_EQ(row_bytes(TensorType::q4_0, 64), 36u);
  EXPECT_EQ(row_bytes(TensorType::q6_k, 512), 420u);
  EXPECT_EQ(row_bytes(TensorType::f16, 3), 6u);
  EXPECT_EQ(row_bytes(TensorType::q8_k, 256), sizeof(block_q8_K));
}

}  // namespace
}  // namespace hearth::kernels
