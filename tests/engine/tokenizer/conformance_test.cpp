// The conformance vectors: every string of every vocabulary in shared/conformance/tokenizer/
// must tokenize exactly like llama.cpp (add_special and parse_special off), and the ids must
// detokenize back to valid UTF-8 — the input itself wherever that is possible.
#include <gtest/gtest.h>

#include "engine/tokenizer/utf8.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  struct Case {
    std::string input;
    std::vector<int32_t> expected;
  };

  // Loads the vocabulary and its vectors; empty when the data pack is missing (test skipped).
  std::vector<Case> load(const std::filesystem::path& dir) {
    const auto path = vocab_path(dir, GetParam());
    tokenizer_ = &load_cached(path);
    const auto inputs = split_inputs(hearth::test::read_file(path.string() + ".inp"));
    const auto outputs = parse_outputs(hearth::test::read_file(path.string() + ".out"));
    EXPECT_EQ(inputs.size(), outputs.size()) << "the .inp and .out files disagree on the count";
    std::vector<Case> cases;
    for (size_t i = 0; i < std::min(inputs.size(), outputs.size()); ++i) {
      cases.push_back({inputs[i], outputs[i]});
    }
    EXPECT_GT(cases.size(), 30u);
    return cases;
  }

  const Tokenizer* tokenizer_ = nullptr;
};

TEST_P(Conformance, EncodesEveryStringLikeLlamaCpp) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto cases = load(dir);
  int failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto actual = tokenizer_->encode(cases[i].input, false, false);
    if (actual != cases[i].expected) {
      ++failures;
      ADD_FAILURE() << GetParam() << " case " << i << ": input " << escaped(cases[i].input)
                    << "\n  expected " << ids_text(cases[i].expected) << "\n  actual   "
                    << ids_text(actual);
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(Conformance, DecodesBackToTheInput) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto cases = load(dir);
  const bool spm = tokenizer_->model() == TokenizerModel::spm;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& ids = cases[i].expected;
    const std::string text = tokenizer_->decode(ids, false, /*remove_space_prefix=*/true);
    EXPECT_TRUE(utf8::is_valid(text)) << GetParam() << " case " << i;
    // A literal "▁" in SentencePiece input is indistinguishable from an escaped space, so it
    // comes back as a space (tiny-spm string 31, README §6).
    std::string want;
    for (size_t at = 0; at < cases[i].input.size();) {
      if (spm && cases[i].input.compare(at, 3, "\xE2\x96\x81") == 0) {
        want += ' ';
        at += 3;
      } else {
        want += cases[i].input[at++];
      }
    }
    EXPECT_EQ(text, want) << GetParam() << " case " << i << ": ids " << ids_text(ids)
                          << "\n  decoded " << escaped(text) << "\n  input   "
                          << escaped(cases[i].input);
  }
}

TEST_P(Conformance, StreamingDecodeMatchesDecode) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto cases = load(dir);
  for (size_t i = 0; i < cases.size(); ++i) {
    StreamDecoder stream(*tokenizer_, true);
    std::string streamed;
    for (int32_t id : cases[i].expected) {
      const std::string piece = stream.push(id);
      EXPECT_TRUE(utf8::is_valid(piece)) << GetParam() << " case " << i;
      streamed += piece;
    }
    streamed += stream.finish();
    EXPECT_EQ(streamed, tokenizer_->decode(cases[i].expected, true)) << GetParam() << " case " << i;
  }
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Vocab, Conformance, ::testing::ValuesIn(conformance_vocabs()), test_name);

}  // namespace
}  // namespace hearth::tokenizer::test
