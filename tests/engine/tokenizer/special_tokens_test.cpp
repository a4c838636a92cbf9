// Special tokens in text (parse_special), BOS/EOS (add_special), user-defined tokens that always
// match, end-of-generation ids, and the per-vocabulary flags.
#include <gtest/gtest.h>

#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(SpecialTokens, SentencePieceControlTokensOnlyWhenParsed) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  const auto hello = tok.encode("Hello", false, false);  // "▁Hello"
  ASSERT_EQ(hello, std::vector<int32_t>{612});

  // Parsed: the token, then the text with a fresh "▁" prefix (llama.cpp adds it after every
  // special token).
  EXPECT_EQ(tok.encode("<s>Hello", false, true), concat({1}, hello));
  EXPECT_EQ(tok.encode("Hello</s>", false, true), concat(hello, {2}));
  EXPECT_EQ(tok.encode("<unk>", false, true), std::vector<int32_t>{0});
  EXPECT_EQ(tok.encode("</s><s>", false, true), (std::vector<int32_t>{2, 1}));

  // Not parsed: ordinary characters, no special id anywhere.
  for (const char* text : {"<s>Hello", "Hello</s>", "<unk>"}) {
    for (int32_t id : tok.encode(text, false, false)) {
      EXPECT_GT(id, 2) << text;
    }
  }
}

TEST(SpecialTokens, AddSpecialPutsBosInFrontOnlyWhereTheVocabularyAsks) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& spm = load_cached(vocab_path(dir, "tiny-spm"));
  EXPECT_EQ(spm.encode("", true, false), std::vector<int32_t>{1});
  EXPECT_EQ(spm.encode("", false, false), std::vector<int32_t>{});
  EXPECT_EQ(spm.encode("Hello", true, false), (std::vector<int32_t>{1, 612}));

  const Tokenizer& llama3 = load_cached(vocab_path(dir, "llama-bpe"));
  EXPECT_TRUE(llama3.add_bos());
  EXPECT_EQ(llama3.bos(), 128000);
  EXPECT_EQ(llama3.eos(), 128001);
  EXPECT_EQ(llama3.encode("Hello", true, false).front(), 128000);

  const Tokenizer& qwen = load_cached(vocab_path(dir, "qwen2"));
  EXPECT_FALSE(qwen.add_bos());
  EXPECT_EQ(qwen.encode("Hello", true, false), qwen.encode("Hello", false, false));
}

TEST(SpecialTokens, BytePairControlTokensAndEndOfGeneration) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& llama3 = load_cached(vocab_path(dir, "llama-bpe"));
  const auto hi = llama3.encode("Hi", false, false);
  EXPECT_EQ(llama3.encode("<|eot_id|>Hi", false, true), concat({128009}, hi));
  EXPECT_NE(llama3.encode("<|eot_id|>Hi", false, false).front(), 128009);
  EXPECT_EQ(llama3.eot(), 128009);
  EXPECT_TRUE(llama3.is_eog(128009));
  EXPECT_TRUE(llama3.is_eog(128001));
  EXPECT_FALSE(llama3.is_eog(128000));
  EXPECT_FALSE(llama3.is_eog(hi.front()));

  const Tokenizer& qwen = load_cached(vocab_path(dir, "qwen2"));
  const auto ids = qwen.encode("<|im_start|>user\nhi<|im_end|>", false, true);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_TRUE(qwen.is_eog(151645));
  EXPECT_TRUE(qwen.is_eog(151643));  // <|endoftext|>, found by its text
  EXPECT_EQ(qwen.decode(ids, true), "<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(qwen.decode(ids, false), "user\nhi");
}

TEST(SpecialTokens, UserDefinedTokensMatchEvenWhenNotParsingSpecials) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // deepseek-coder lists single characters such as "õ" (id 32000) as user-defined tokens.
  const Tokenizer& tok = load_cached(vocab_path(dir, "deepseek-coder"));
  ASSERT_EQ(tok.token_type(32000), TokenType::user_defined);
  ASSERT_EQ(tok.token_text(32000), "\xC3\xB5");
  EXPECT_EQ(tok.encode("\xC3\xB5", false, false), std::vector<int32_t>{32000});
  EXPECT_EQ(tok.decode(std::vector<int32_t>{32000}, false), "\xC3\xB5");
}

TEST(SpecialTokens, Phi3SpecialTokensSwallowTheWhitespaceAfterThem) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "phi-3"));
  ASSERT_EQ(tok.token_text(32007), "<|end|>");
  EXPECT_EQ(tok.encode("<|end|>\n  Hello", false, true),
            concat({32007}, tok.encode("Hello", false, false)));
  EXPECT_TRUE(tok.is_eog(32007));
  EXPECT_TRUE(tok.is_eog(32000));  // eos
}

TEST(SpecialTokens, AddEosAndMissingAddBosKeysFromASyntheticVocabulary) {
  SyntheticVocab v("llama");
  v.tokens({"<unk>", "<s>", "</s>", "\u2581", "a", "\u2581a", "<tool>"});
  v.scores({0, 0, 0, -3, -2, -1, 0});
  v.types({2, 3, 3, 1, 1, 1, 4});
  v.set("tokenizer.ggml.add_bos_token", gguf::Value::of_bool(false));
  v.set("tokenizer.ggml.add_eos_token", gguf::Value::of_bool(true));
  v.set("tokenizer.ggml.add_space_prefix", gguf::Value::of_bool(false));
  const Tokenizer tok = v.build();
  EXPECT_FALSE(tok.add_bos());
  EXPECT_TRUE(tok.add_eos());
  EXPECT_FALSE(tok.add_space_prefix());
  EXPECT_EQ(tok.encode("a a", true, false), (std::vector<int32_t>{4, 5, 2}));
  EXPECT_EQ(tok.encode("a a", false, false), (std::vector<int32_t>{4, 5}));
  // User-defined "<tool>" is always a token; no prefix space is added after it here because
  // add_space_prefix is off.
  EXPECT_EQ(tok.encode("a<tool>a", false, false), (std::vector<int32_t>{4, 6, 4}));
  EXPECT_EQ(tok.decode(std::vector<int32_t>{4, 6, 4}, false), "a<tool>a");
}

TEST(SpecialTokens, LongerSpecialTokensWin) {
  SyntheticVocab v("llama");
  v.tokens({"<unk>", "<s>", "</s>", "<a>", "<a><b>", "x"});
  v.types({2, 3, 3, 3, 3, 1});
  v.set("tokenizer.ggml.add_space_prefix", gguf::Value::of_bool(false));
  const Tokenizer tok = v.build();
  EXPECT_EQ(tok.encode("<a><b><a>x", false, true), (std::vector<int32_t>{4, 3, 5}));
}

}  // namespace
}  // namespace hearth::tokenizer::test
