// The sharp test: quantizing the conformance pack's quant-base-f16.gguf with a preset must give
// the file llama-quantize made from it (quant-base-<preset>.gguf): the same metadata, tensor
// order, types and shapes exactly, and — the aim — the same tensor bytes. Where bytes differ, the
// test reports the fraction of identical blocks and the largest decoded difference, and still
// requires every decoded value to be within the type's error bound of the source.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>

#include "engine/gguf/gguf.h"
#include "engine/quantize/model_quantizer.h"
#include "engine/quantize/quantize.h"
#include "support/test_support.h"

namespace hearth::quantize {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* preset;
  const char* reference;
};

bool same_value(const gguf::Value& a, const gguf::Value& b) {
  if (a.type != b.type || a.u != b.u || a.i != b.i || a.s != b.s) return false;
  if (!(a.f == b.f || (std::isnan(a.f) && std::isnan(b.f)))) return false;
  if (a.type != gguf::ValueType::array) return true;
  if (a.element_type != b.element_type || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i)
    if (!same_value(a.items[i], b.items[i])) return false;
  return true;
}

// Bound on |decoded − source| relative to the block's largest magnitude, per type (generous:
// the rounding step of the type's codes plus F16 scale rounding).
double relative_bound(gguf::TensorType t) {
  switch (t) {
    case gguf::TensorType::q8_0: return 1.0 / 127;
    case gguf::TensorType::q6_k: return 1.0 / 20;
    case gguf::TensorType::q5_k: return 1.0 / 10;
    case gguf::TensorType::q4_0:
    case gguf::TensorType::q4_k: return 1.0 / 5;
    default: return 1.0;
  }
}

class QuantBaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(QuantBaseTest, ReproducesLlamaQuantize) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Case c = GetParam();
  const fs::path source_path = dir / "models" / "quant-base-f16.gguf";
  const fs::path reference_path = dir / "models" / c.reference;
  test::TempDir tmp;
  const fs::path out_path = tmp.path() / "out.gguf";
  const Preset* preset = find_preset(c.preset);
  ASSERT_NE(preset, nullptr);
  quantize_file(source_path, out_path, *preset, {}, 2);

  const gguf::File source = gguf::File::open(source_path);
  const gguf::File ref = gguf::File::open(reference_path);
  const gguf::File ours = gguf::File::open(out_path);

  // Metadata: same keys in the same order with the same values.
  ASSERT_EQ(ours.metadata().size(), ref.metadata().size());
  for (size_t i = 0; i < ref.metadata().size(); ++i) {
    EXPECT_EQ(ours.metadata()[i].first, ref.metadata()[i].first);
    EXPECT_TRUE(same_value(ours.metadata()[i].second, ref.metadata()[i].second))
        << ref.metadata()[i].first;
  }
  // Tensors: same order, names, shapes and types.
  ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
  size_t total_blocks = 0;
  size_t same_blocks = 0;
  double max_diff = 0;
  size_t identical_tensors = 0;
  for (size_t k = 0; k < ref.tensors().size(); ++k) {
    const gguf::TensorInfo& r = ref.tensors()[k];
    const gguf::TensorInfo& o = ours.tensors()[k];
    SCOPED_TRACE(r.name);
    ASSERT_EQ(o.name, r.name);
    ASSERT_EQ(o.ne, r.ne);
    ASSERT_EQ(gguf::tensor_type_name(o.type), gguf::tensor_type_name(r.type));
    const auto rd = ref.tensor_data(r);
    const auto od = ours.tensor_data(o);
    ASSERT_EQ(rd.size(), od.size());
    const auto& traits = gguf::traits(o.type);
    const size_t n_blocks = rd.size() / traits.type_size;
    size_t same = 0;
    for (size_t b = 0; b < n_blocks; ++b)
      same += std::memcmp(rd.data() + b * traits.type_size, od.data() + b * traits.type_size,
                          traits.type_size) == 0;
    total_blocks += n_blocks;
    same_blocks += same;
    if (same == n_blocks) ++identical_tensors;

    // Decoded values against the source (F16 decoded exactly) and against the reference.
    const gguf::TensorInfo* s = source.find_tensor(r.name);
    ASSERT_NE(s, nullptr);
    const int64_t n = r.n_elements();
    std::vector<float> src(static_cast<size_t>(n)), mine(src.size()), theirs(src.size());
    dequantize_row(s->type, source.tensor_data(*s).data(), src.data(), n);
    dequantize_row(o.type, od.data(), mine.data(), n);
    dequantize_row(r.type, rd.data(), theirs.data(), n);
    const int64_t block = traits.block_size;
    for (int64_t b0 = 0; b0 < n; b0 += block) {
      float amax = 0;
      for (int64_t i = b0; i < b0 + block; ++i) amax = std::max(amax, std::fabs(src[i]));
      for (int64_t i = b0; i < b0 + block; ++i) {
        ASSERT_FALSE(std::isnan(mine[i]));
        ASSERT_LE(std::fabs(mine[i] - src[i]), relative_bound(o.type) * amax + 1e-6)
            << "value " << i;
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(mine[i] - theirs[i])));
      }
    }
  }
  const bool file_identical = test::read_file(out_path) == test::read_file(reference_path);
  std::cout << "[quant-base " << c.preset << "] file bytes identical: "
            << (file_identical ? "yes" : "no") << "; identical tensors " << identical_tensors
            << "/" << ref.tensors().size() << "; identical blocks " << same_blocks << "/"
            << total_blocks << "; max |ours - llama.cpp| decoded " << max_diff << "\n";
  RecordProperty("identical_blocks", std::to_string(same_blocks) + "/" + std::to_string(total_blocks));
  RecordProperty("file_identical", file_identical ? "yes" : "no");
  // Byte identity is the goal and holds today; this guards it.
  EXPECT_EQ(same_blocks, total_blocks);
  EXPECT_TRUE(file_identical);
}

INSTANTIATE_TEST_SUITE_P(Presets, QuantBaseTest,
                         ::testing::Values(Case{"Q8_0", "quant-base-q8_0.gguf"},
                                           Case{"Q4_0", "quant-base-q4_0.gguf"},
                                           Case{"Q4_K_M", "quant-base-q4_k_m.gguf"},
                                           Case{"Q5_K_M", "quant-base-q5_k_m.gguf"},
                                           Case{"Q6_K", "quant-base-q6_k.gguf"}),
                         [](const auto& info) { return std::string(info.param.preset); });

}  // namespace
}  // namespace hearth::quantize
