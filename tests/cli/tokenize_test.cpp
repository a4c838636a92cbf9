// `hearth tokenize` / `hearth detokenize` through the real binary: the --file output must equal
// every conformance .out file byte for byte, and bad input must fail with a message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace hearth::cli {
namespace {

using hearth::test::run_hearth;
using Result = hearth::test::CommandResult;

class TokenizeFile : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizeFile, MatchesTheOutFileByteForByte) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = dir / "tokenizer" / ("ggml-vocab-" + GetParam() + ".gguf");
  const Result r = run_hearth({"tokenize", vocab.string(), "--file", vocab.string() + ".inp"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = hearth::test::read_file(vocab.string() + ".out");
  EXPECT_TRUE(r.out == expected) << "output differs from " << vocab.string() << ".out:\n" << r.out;
}

INSTANTIATE_TEST_SUITE_P(Vocab, TokenizeFile,
                         ::testing::Values("tiny-spm", "llama-spm", "phi-3", "gpt-2",
                                           "deepseek-coder", "starcoder", "llama-bpe", "qwen2"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });

TEST(TokenizeCommand, TextAddsBosAndSpecialIsOptIn) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = (dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf").string();
  Result r = run_hearth(
      {"tokenize", vocab, "--text", "Hello world! The quick brown fox jumps over the lazy dog."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1 612 580 956 420 716 687 696 701 622 264 704 693 912\n");

  r = run_hearth({"tokenize", vocab, "--text", "Hello", "--no-add-special"});
  EXPECT_EQ(r.out, "612\n");
  r = run_hearth({"tokenize", vocab, "--text", "</s>", "--special", "--no-add-special"});
  EXPECT_EQ(r.out, "2\n");
  r = run_hearth({"tokenize", vocab, "--text", "</s>", "--no-add-special"});
  EXPECT_NE(r.out, "2\n");
}

TEST(TokenizeCommand, DetokenizePrintsTheText) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = (dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf").string();
  Result r = run_hearth({"detokenize", vocab, "--ids", "1 612 580 956"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world!\n");
  r = run_hearth({"detokenize", vocab, "--ids", "1 612 580", "--special", "--keep-space-prefix"});
  EXPECT_EQ(r.out, "<s> Hello world\n");
}

TEST(TokenizeCommand, BadInputFailsWithAMessage) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = (dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf").string();
  for (const char* ids : {"1 2 banana", "1 1000", "-5", "99999999999"}) {
    const Result r = run_hearth({"detokenize", vocab, "--ids", ids});
    EXPECT_NE(r.exit_code, 0) << ids;
    EXPECT_NE(r.err.find("hearth:"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << ids;
  }
  Result r = run_hearth({"tokenize", vocab});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--text"), std::string::npos) << r.err;
  r = run_hearth({"tokenize", "/nonexistent/model.gguf", "--text", "x"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(r.err.empty());
  r = run_hearth({"tokenize", vocab, "--file", "/nonexistent/strings.inp"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/strings.inp"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth::cli
