// The sharp test of the block decoders: every tensor of the quantized conformance files,
// dequantized, must be close to the same tensor of the F16 file they were made from. A decoder
// with a wrong nibble order, bit position or scale unpacking gives a relative error near 1
// (sometimes far above); correct ones sit at the quantization noise of the type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "engine/gguf/gguf.h"
#include "kernel_test_util.h"
#include "support/test_support.h"

namespace hearth::kernels {
namespace {

// Largest RMS(error) / RMS(tensor) accepted per type, about 1.4x the worst tensor measured with
// this decoder; the broken decoders tried (swapped nibbles, misplaced high bits, scale bits from
// the wrong byte) gave 0.36 to 1.5.
double bound(TensorType type) {
  switch (type) {
    case TensorType::f32:
      return 0;  // norms are copied unchanged
    case TensorType::q8_0:
      return 0.008;  // measured worst 0.0054
    case TensorType::q6_k:
      return 0.025;  // measured worst 0.0179
    case TensorType::q5_k:
      return 0.05;  // measured worst 0.0363
    case TensorType::q4_k:
      return 0.10;  // measured worst 0.0717
    case TensorType::q4_0:
      return 0.11;  // measured worst 0.0864
    default:
      return -1;
  }
}

std::vector<float> dequantize_tensor(const gguf::File& file, const gguf::TensorInfo& t) {
  const auto data = file.tensor_data(t);
  const int64_t n = t.n_elements();
  EXPECT_EQ(data.size(), row_bytes(t.type, n));
  return test::dequantize(t.type, data.data(), n);
}

TEST(Conformance, QuantizedTensorsDequantizeCloseToTheF16Base) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const gguf::File base = gguf::File::open(dir / "models" / "quant-base-f16.gguf");
  std::map<std::string, double> worst;  // per type name
  for (const char* name : {"q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"}) {
    const gguf::File file =
        gguf::File::open(dir / "models" / (std::string("quant-base-") + name + ".gguf"));
    ASSERT_EQ(file.tensors().size(), base.tensors().size());
    for (const gguf::TensorInfo& t : file.tensors()) {
      SCOPED_TRACE(std::string(name) + " " + t.name);
      const gguf::TensorInfo* b = base.find_tensor(t.name);
      ASSERT_NE(b, nullptr);
      ASSERT_EQ(b->ne, t.ne);
      const auto got = dequantize_tensor(file, t);
      const auto want = dequantize_tensor(base, *b);
      double err = 0, ref = 0;
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_TRUE(std::isfinite(got[i])) << i;
        err += (double{got[i]} - want[i]) * (double{got[i]} - want[i]);
        ref += double{want[i]} * want[i];
      }
      const double rel = std::sqrt(err / ref);
      const double limit = bound(t.type);
      ASSERT_GE(limit, 0) << "unexpected type " << gguf::tensor_type_name(t.type);
      EXPECT_LE(rel, limit) << gguf::tensor_type_name(t.type);
      if (t.type != TensorType::f32) {
        // Quantization must leave noise: an exact match would mean the F16 file was read.
        EXPECT_GT(rel, limit / 50) << gguf::tensor_type_name(t.type);
      }
      double& w = worst[std::string(gguf::tensor_type_name(t.type))];
      w = std::max(w, rel);
    }
  }
  for (const auto& [type, rel] : worst)
    std::printf("  worst relative RMS error %-5s %.4f\n", type.c_str(), rel);
}

}  // namespace
}  // namespace hearth::kernels
