// `--lora ADAPTER.gguf[:SCALE]` on `hearth generate`, `logits` and `run` through the real binary,
// with the conformance pack's adapters (lora/, README §7): the output changes, and matches
// llama.cpp's output with the adapter applied.
#include <gtest/gtest.h>

#include <cmath>

#include "model_output_util.h"
#include "support/float_compare.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::ids_line;
using test::read_floats;
using test::run_hearth;
using test::text;

using test::AdapterCase;
using test::adapter_case;

// Logits of the same length, their largest difference.
float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return hearth::test::max_abs_diff(a, b);
}

class LoraCommand : public ::testing::TestWithParam<std::string> {};

// F32 bases: the greedy ids of every prompt are llama.cpp's with the adapter, and not the base's.
TEST_P(LoraCommand, GenerateGivesTheAdaptersGreedyIds) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const AdapterCase a = adapter_case(dir, GetParam());
  for (const auto& case_value : a.ref.at("cases").as_array()) {
    const auto& c = case_value.as_object();
    const std::vector<std::string> args = {"generate", a.base.string(), "--prompt",
                                           text(c.at("prompt")), "--greedy", "-n", "24", "--ids"};
    auto with = args;
    with.insert(with.end(), {"--lora", a.lora_option});
    const auto r = run_hearth(with);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ids_line(c.at("greedy"))) << GetParam() << " " << text(c.at("name"));
    EXPECT_NE(run_hearth(args).out, r.out) << "the adapter changed nothing";
  }
}

TEST_P(LoraCommand, LogitsMatchTheReferenceFile) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const AdapterCase a = adapter_case(dir, GetParam());
  const auto& c = a.ref.at("cases").as_array().at(0).as_object();
  const std::vector<std::string> args = {"logits", a.base.string(), "--prompt",
                                         text(c.at("prompt")), "--out"};
  auto with = args;
  with.insert(with.end(), {(tmp.path() / "with.f32").string(), "--lora", a.lora_option});
  const auto r = run_hearth(with);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto without = args;
  without.push_back((tmp.path() / "without.f32").string());
  ASSERT_EQ(run_hearth(without).exit_code, 0);

  const auto mine = read_floats(tmp.path() / "with.f32");
  EXPECT_LE(max_abs_diff(mine, read_floats(dir / "lora" / text(c.at("last_logits_file")))), 1e-3f);
  EXPECT_GT(max_abs_diff(mine, read_floats(tmp.path() / "without.f32")), 1e-2f);
}

INSTANTIATE_TEST_SUITE_P(F32Bases, LoraCommand,
                         ::testing::Values("llama-gqa-f32.lora-r8", "qwen2-f32.lora-qv"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

// A quantized base with the reference kernels (exact F32 arithmetic) against the .dequant-f32
// reference; the adapter given twice at half its scale is the same as once.
TEST(LoraCommandQuantized, ReferenceKernelsMatchTheDequantizedReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const AdapterCase a = adapter_case(dir, "quant-base-q4_0.lora-r8");
  const auto dq = test::json_from(
      test::read_file(dir / "lora" / "quant-base-q4_0.lora-r8.dequant-f32.ref.json"));
  const auto& c = dq.at("cases").as_array().at(0).as_object();
  const std::string half = a.adapter.string() + ":0.5";
  const auto r = run_hearth({"logits", a.base.string(), "--prompt", text(c.at("prompt")), "--out",
                             (tmp.path() / "l.f32").string(), "--lora", half, "--lora", half},
                            {{"HEARTH_KERNELS", "reference"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LE(max_abs_diff(read_floats(tmp.path() / "l.f32"),
                         read_floats(dir / "lora" / text(c.at("last_logits_file")))),
            1e-3f);
}

TEST(LoraCommandRun, RunAppliesTheAdapter) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = (dir / "models" / "llama-gqa-f32.gguf").string();
  const auto adapter = (dir / "lora" / "llama-gqa-f32.lora-r8.gguf").string();
  const std::vector<std::string> args = {"run", model, "why is the sky blue?", "--seed", "7",
                                         "--temperature", "0", "--max-tokens", "12"};
  auto with = args;
  with.insert(with.end(), {"--lora", adapter});
  const auto r = run_hearth(with);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_NE(r.out, run_hearth(args).out);
}

TEST(LoraCommandErrors, BadScaleAndWrongArchitectureAreClear) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = (dir / "models" / "llama-gqa-f32.gguf").string();
  const auto bad_scale = run_hearth({"generate", model, "--prompt", "hi", "--ids", "--lora",
                                     (dir / "lora" / "llama-gqa-f32.lora-r8.gguf").string() + ":x1"});
  EXPECT_EQ(bad_scale.exit_code, 2) << bad_scale.err;
  EXPECT_TRUE(test::contains(bad_scale.err, "the scale 'x1' is not a number")) << bad_scale.err;
  const auto wrong = run_hearth({"logits", model, "--prompt", "hi", "--out", "/dev/null", "--lora",
                                 (dir / "lora" / "qwen2-f32.lora-qv.gguf").string()});
  EXPECT_EQ(wrong.exit_code, 2) << wrong.err;
  EXPECT_TRUE(test::contains(wrong.err, "architecture 'qwen2'")) << wrong.err;
}

}  // namespace
}  // namespace hearth
