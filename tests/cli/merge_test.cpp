// `hearth merge BASE ADAPTER[:SCALE] -o OUT`: the merged model, run without any adapter, answers as
// the base does with the adapter (the conformance pack's lora/ references), keeps the base's
// tensor types, and bad input is refused before anything is written.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "engine/gguf/gguf.h"
#include "model_output_util.h"
#include "support/float_compare.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::adapter_case;
using test::read_floats;
using test::run_hearth;
using test::text;

// The types of every tensor, by name.
std::map<std::string, gguf::TensorType> tensor_types(const fs::path& path) {
  std::map<std::string, gguf::TensorType> types;
  const gguf::File file = gguf::File::open(path);
  for (const auto& t : file.tensors()) types[t.name] = t.type;
  return types;
}

TEST(MergeCommand, AnF32MergedModelGivesTheAdaptersLogitsAndGreedyIds) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  for (const std::string stem : {"llama-gqa-f32.lora-r8", "qwen2-f32.lora-qv"}) {
    const auto a = adapter_case(dir, stem);
    const fs::path merged = tmp.path() / (stem + ".gguf");
    const auto m = run_hearth({"merge", a.base.string(), a.lora_option, "-o", merged.string()});
    ASSERT_EQ(m.exit_code, 0) << m.err;
    EXPECT_EQ(tensor_types(merged), tensor_types(a.base)) << stem;
    const auto& c = a.ref.at("cases").as_array().at(0).as_object();
    const fs::path out = tmp.path() / (stem + ".f32");
    const auto r = run_hearth(
        {"logits", merged.string(), "--prompt", text(c.at("prompt")), "--out", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto mine = read_floats(out);
    const auto ref = read_floats(dir / "lora" / text(c.at("last_logits_file")));
    ASSERT_EQ(mine.size(), ref.size());
    EXPECT_LE(test::max_abs_diff(mine, ref), 1e-3f) << stem;
    const auto g = run_hearth({"generate", merged.string(), "--prompt", text(c.at("prompt")),
                               "--greedy", "-n", "24", "--ids"});
    EXPECT_EQ(g.out, test::ids_line(c.at("greedy"))) << stem;
  }
}

TEST(MergeCommand, AQuantizedBaseStaysInItsTypesOrTakesThePresets) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const auto a = adapter_case(dir, "quant-base-q4_0.lora-r8");
  const fs::path same = tmp.path() / "same.gguf", q8 = tmp.path() / "q8.gguf";
  ASSERT_EQ(run_hearth({"merge", a.base.string(), a.lora_option, "-o", same.string()}).exit_code, 0);
  EXPECT_EQ(tensor_types(same), tensor_types(a.base));
  const auto r = run_hearth(
      {"merge", a.base.string(), a.lora_option, "-o", q8.string(), "--type", "Q8_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(tensor_types(q8).at("blk.0.attn_q.weight"), gguf::TensorType::q8_0);
  EXPECT_EQ(gguf::File::open(q8).get_int("general.file_type"), 7);  // MOSTLY_Q8_0

  // In F32, the merged weights are the dequantized base plus the adapter's product: with exact
  // arithmetic the model gives the reference computed that way (lora/*.dequant-f32).
  const fs::path f32 = tmp.path() / "f32.gguf";
  ASSERT_EQ(run_hearth({"merge", a.base.string(), a.lora_option, "-o", f32.string(), "--type",
                        "F32"}).exit_code, 0);
  EXPECT_EQ(tensor_types(f32).at("token_embd.weight"), gguf::TensorType::f32);
  const json::value exact = test::json_from(
      test::read_file(dir / "lora" / "quant-base-q4_0.lora-r8.dequant-f32.ref.json"));
  const auto& c = exact.at("cases").as_array().at(0).as_object();
  const fs::path out = tmp.path() / "f32.f32";
  const auto r32 = run_hearth({"logits", f32.string(), "--prompt", text(c.at("prompt")), "--out",
                               out.string()},
                              {{"HEARTH_KERNELS", "reference"}});
  ASSERT_EQ(r32.exit_code, 0) << r32.err;
  const auto mine = read_floats(out);
  const auto ref = read_floats(dir / "lora" / text(c.at("last_logits_file")));
  ASSERT_EQ(mine.size(), ref.size());
  EXPECT_LE(test::max_abs_diff(mine, ref), 1e-3f);
}

TEST(MergeCommand, BadInputIsRefusedBeforeAnythingIsWritten) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const auto llama = adapter_case(dir, "llama-gqa-f32.lora-r8");
  const auto qwen = adapter_case(dir, "qwen2-f32.lora-qv");
  const fs::path out = tmp.path() / "out.gguf";
  auto r = run_hearth({"merge", llama.base.string(), qwen.adapter.string(), "-o", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("qwen2"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  r = run_hearth({"merge", llama.base.string(), llama.adapter.string() + ":lots", "-o", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is not a number"), std::string::npos) << r.err;
  r = run_hearth({"merge", llama.base.string(), llama.adapter.string(), "-o", out.string(),
                  "--type", "Q9_9"});
  EXPECT_NE(r.err.find("unknown type 'Q9_9'"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
  std::ofstream(out) << "keep me";
  r = run_hearth({"merge", llama.base.string(), llama.adapter.string(), "-o", out.string()});
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(out), "keep me");
  r = run_hearth({"merge", llama.base.string(), llama.adapter.string(), "-o", llama.base.string(),
                  "--force"});
  EXPECT_NE(r.err.find("would overwrite the base"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
