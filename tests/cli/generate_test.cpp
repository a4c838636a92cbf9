// `hearth generate`, `hearth logits` and `hearth run` through the real binary, on the
// conformance models (random weights: the text is noise, the numbers are checked).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "model_output_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::run_hearth;

namespace json = boost::json;

json::value reference(const fs::path& dir, const std::string& model) {
  return test::json_from(test::read_file(dir / "models" / (model + ".ref.json")));
}

using test::ids_line;
using test::read_floats;
using test::text;

class GenerateCommand : public ::testing::TestWithParam<std::string> {};

// F32 models: every kernel set computes in F32, so the reference greedy ids must come out.
TEST_P(GenerateCommand, GreedyIdsMatchTheReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto ref = reference(dir, GetParam());
  for (const auto& case_value : ref.at("cases").as_array()) {
    const auto& c = case_value.as_object();
    auto r = run_hearth({"generate", (dir / "models" / (GetParam() + ".gguf")).string(), "--prompt",
                         text(c.at("prompt")), "--greedy", "-n", "24", "--ids"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, ids_line(c.at("greedy"))) << GetParam() << " " << text(c.at("name"));
  }
}

TEST_P(GenerateCommand, LogitsMatchTheReferenceFile) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const auto ref = reference(dir, GetParam());
  const auto& c = ref.at("cases").as_array().at(0).as_object();
  auto r = run_hearth({"logits", (dir / "models" / (GetParam() + ".gguf")).string(), "--prompt",
                       text(c.at("prompt")), "--out", (tmp.path() / "l.f32").string(),
                       "--top", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n') + 1), "tokens: " + ids_line(c.at("tokens")));
  auto mine = read_floats(tmp.path() / "l.f32");
  auto want = read_floats(dir / "models" / text(c.at("last_logits_file")));
  ASSERT_EQ(mine.size(), want.size());
  for (size_t i = 0; i < mine.size(); ++i) ASSERT_NEAR(mine[i], want[i], 1e-3) << "id " << i;
  // One "--top" line per prompt position after the tokens line.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1 + json::value_to<int>(c.at("n_tokens")));
}

INSTANTIATE_TEST_SUITE_P(F32Models, GenerateCommand,
                         ::testing::Values("llama-gqa-f32", "qwen2-f32", "phi3-f32", "mixtral-f32"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

TEST(RunCommand, AnswersOnceAndIsReproducibleWithASeed) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = (dir / "models" / "llama-gqa-f32.gguf").string();
  auto a = run_hearth({"run", model, "why is the sky blue?", "--seed", "7", "--max-tokens", "12"});
  auto b = run_hearth({"run", model, "why is the sky blue?", "--seed", "7", "--max-tokens", "12"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
}

TEST(RunCommand, BadFilesGiveOneClearLine) {
  test::TempDir tmp;
  auto missing = run_hearth({"run", (tmp.path() / "nope.gguf").string(), "hi"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.err.find("nope.gguf"), std::string::npos) << missing.err;
  // A version 3 header cut off inside the tensor count.
  std::ofstream(tmp.path() / "bad.gguf", std::ios::binary).write("GGUF\x03\x00\x00\x00\x01\x00", 10);
  auto bad = run_hearth({"generate", (tmp.path() / "bad.gguf").string(), "--prompt", "x", "--ids"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("bad.gguf"), std::string::npos) << bad.err;
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
}

}  // namespace
}  // namespace hearth
