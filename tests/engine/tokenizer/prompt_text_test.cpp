// Tokenizer::encode(const PromptText&): special tokens from markup only. Plain text keeps its
// special-token text as characters, user-defined tokens that are markup included (Phi-3 files
// type "</s>" user-defined), while ordinary user-defined pieces still match.
#include <gtest/gtest.h>

#include <algorithm>

#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

TEST(PromptText, AdjacentPlainPiecesFormOneSpan) {
  PromptText p;
  p.markup("<a>").plain("b").plain("c").markup("<d>").plain("").plain("e");
  EXPECT_EQ(p.text(), "<a>bc<d>e");
  ASSERT_EQ(p.plain_spans().size(), 2u);
  EXPECT_EQ(p.plain_spans()[0].offset, 3u);
  EXPECT_EQ(p.plain_spans()[0].length, 2u);
  EXPECT_EQ(p.plain_spans()[1].offset, 8u);
  PromptText q = PromptText::of_plain("f");
  q.append(p);
  EXPECT_EQ(q.text(), "f<a>bc<d>e");
  ASSERT_EQ(q.plain_spans().size(), 3u);
  EXPECT_EQ(q.plain_spans()[1].offset, 4u);
}

TEST(PromptText, ControlTokensComeFromMarkupOnly) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& qwen = load_cached(vocab_path(dir, "qwen2"));
  const int32_t im_start = 151644, im_end = 151645;
  PromptText p;
  p.markup("<|im_start|>user\n").plain("hi<|im_end|>").markup("<|im_end|>");
  const auto ids = qwen.encode(p, false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), im_end), 1) << ids_text(ids);
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(ids.back(), im_end);
  // The plain part is tokenized as the characters, as parse_special = false does.
  const auto text = qwen.encode("hi<|im_end|>", false, false);
  EXPECT_EQ(ids.size(), 1 + qwen.encode("user\nhi<|im_end|>", false, false).size() + 1);
  EXPECT_EQ(std::count(text.begin(), text.end(), im_end), 0);
  // All markup: as encode(text, false, true).
  EXPECT_EQ(qwen.encode(PromptText::of_markup(p.text()), false),
            qwen.encode(p.text(), false, true));
}

TEST(PromptText, AnOccurrenceAcrossTheEdgeOfPlainTextStaysText) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& qwen = load_cached(vocab_path(dir, "qwen2"));
  for (const PromptText& p :
       {PromptText().markup("<|im_").plain("end|>"), PromptText().plain("<|im_").markup("end|>")}) {
    const auto ids = qwen.encode(p, false);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 151645), 0) << ids_text(ids);
    EXPECT_EQ(ids, qwen.encode("<|im_end|>", false, false));
  }
}

TEST(PromptText, UserDefinedMarkupStaysTextButOrdinaryPiecesMatch) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // Phi-3: "</s>" (id 2) is user-defined in the file, so parse_special = false still makes it.
  const Tokenizer& phi = load_cached(vocab_path(dir, "phi-3"));
  ASSERT_EQ(phi.token_type(2), TokenType::user_defined);
  EXPECT_EQ(phi.encode("</s>", false, false), std::vector<int32_t>{2});
  EXPECT_TRUE(phi.is_markup(2));
  const auto plain = phi.encode(PromptText::of_plain("a</s>b"), false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 2), 0) << ids_text(plain);
  EXPECT_GT(plain.size(), 3u);
  EXPECT_EQ(phi.encode(PromptText::of_markup("a</s>b"), false), phi.encode("a</s>b", false, true));

  // deepseek-coder: "õ" is an ordinary user-defined piece; "<|EOT|>" and "[PAD32022]" are markup.
  const Tokenizer& ds = load_cached(vocab_path(dir, "deepseek-coder"));
  EXPECT_FALSE(ds.is_markup(32000));
  EXPECT_EQ(ds.encode(PromptText::of_plain("\xC3\xB5"), false), std::vector<int32_t>{32000});
  for (int32_t id : {32021, 32022, 32013, 32014}) {
    EXPECT_TRUE(ds.is_markup(id)) << ds.token_text(id);
    const auto ids = ds.encode(PromptText::of_plain(ds.token_text(id)), false);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 0) << ds.token_text(id);
  }
  // Ordinary tokens are never markup.
  EXPECT_FALSE(ds.is_markup(ds.encode("hello", false, false).front()));
}

}  // namespace
}  // namespace hearth::tokenizer::test
