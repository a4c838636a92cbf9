// Splits of the pre-tokenizers beyond the conformance vocabularies (falcon, deepseek-llm, bloom /
// poro-chat, viking, chameleon, gpt-4o, seed-coder, dbrx / smaug-bpe), each worked out by hand
// from the model's published rule (docs/tokenizers.md), and long runs that a quadratic matcher
// would not get through.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/pretokenize.h"
#include "pretokenize_test_support.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

TEST(PreTokenizerMore, Falcon) {
  expect_splits(PreTokenizerKind::falcon,
                {
                    {"Hello world", {"Hello", " world"}},
                    // Punctuation is cut out first, so contractions never form.
                    {"I'm here, it's ok", {"I", "'", "m", " here", ",", " it", "'", "s", " ok"}},
                    // Digit runs lose their leading space, then split in threes.
                    {"1234567 apples", {"123", "456", "7", " apples"}},
                    {" 12 345", {" ", "12", " ", "345"}},
                    // ASCII symbols count as punctuation; runs stay together.
                    {"x+=1", {"x", "+=", "1"}},
                    {"$5`", {"$", "5", "`"}},
                    {"Hello!!! ...?", {"Hello", "!!!", " ", "...?"}},
                    {"  hello", {" ", " hello"}},
                    {"a\n\nb", {"a", "\n", "\n", "b"}},
                    // The digit steps read the byte-mapped text: 'м' is D0 BC and BC shows as '¼',
                    // a number, so the character splits between its bytes; '²' (C2 B2) likewise.
                    {"мир", {"\xD0", "\xBC", "\xD0\xB8\xD1\x80"}},
                    {"x²", {"x", "\xC2", "\xB2"}},
                    // Arabic-Indic digits are numbers as characters but none of their bytes is: the
                    // run stays whole instead of splitting in threes.
                    {"٣٤٥٦", {"٣٤٥٦"}},
                });
}

TEST(PreTokenizerMore, DeepseekLlm) {
  expect_splits(PreTokenizerKind::deepseek_llm,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"Hello, world!", {"Hello", ",", " world", "!"}},
                    {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                    // A symbol takes the space before it; a digit's space stays alone.
                    {"x = 12;", {"x", " =", " ", "1", "2", ";"}},
                    {"  hello", {" ", " hello"}},
                    {"hello   ", {"hello", "   "}},
                    {"12  ", {"1", "2", "  "}},
                    {"a\r\nb", {"a", "\r", "\n", "b"}},
                    {"x\t\ty", {"x", "\t", "\ty"}},
                    {"don't", {"don", "'", "t"}},
                    // Cased letters of other scripts are letters here...
                    {"Привет мир", {"Привет", " мир"}},
                    // ... letters of scripts without case are not, and stay in one piece.
                    {"مرحبا بالعالم", {"مرحبا بالعالم"}},
                    {"我想在apple工作", {"我想在", "apple", "工作"}},
                    {"한국어 텍스트", {"한국어", " ", "텍스트"}},
                    {"日本語のカタカナ", {"日本語のカタカナ"}},
                    {"🦙 ok!", {"🦙", " ok", "!"}},
                    {"“quoted”", {"“", "quoted", "”"}},
                    {"a，b。", {"a", "，", "b", "。"}},
                });
}

TEST(PreTokenizerMore, BloomAndPoro) {
  expect_splits(PreTokenizerKind::bloom,
                {
                    {"Hello, world!", {"Hello", ",", " world", "!"}},
                    // Digits are not split at all.
                    {"1234567 apples", {"1234567", " apples"}},
                    {"  hello", {" ", " hello"}},
                    {"hello   ", {"hello", "   "}},
                    // Parentheses and '|' are cut out; other symbols stay in words.
                    {"f(x) = a|b", {"f", "(", "x", ")", " =", " a", "|", "b"}},
                    {"Wait... what?!", {"Wait", "...", " what", "?!"}},
                    {"don't", {"don't"}},
                    {"a\n\nb", {"a", "\n\n", "b"}},
                    {"我想在apple工作。好", {"我想在apple工作", "。", "好"}},
                    {"x — y", {"x", " —", " y"}},
                    {"नमस्ते। ठीक", {"नमस्ते", "।", " ठीक"}},
                    {"🦙.cpp", {"🦙", ".", "cpp"}},
                });
}

TEST(PreTokenizerMore, Viking) {
  expect_splits(PreTokenizerKind::viking,
                {
                    {"1234567 apples", {"1", "2", "3", "4", "5", "6", "7", " apples"}},
                    {"v1.2", {"v", "1", ".", "2"}},
                    {" 42", {" ", "4", "2"}},
                    {"Hello, world!", {"Hello", ",", " world", "!"}},
                });
}

TEST(PreTokenizerMore, Chameleon) {
  expect_splits(PreTokenizerKind::chameleon,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"I'm here", {"I", "'", "m", " here"}},
                    {"1234", {"1", "2", "3", "4"}},
                    // Spaces go in fours, then twos; a lone one joins the word after it.
                    {"a   b", {"a", "  ", " b"}},
                    {"a     b", {"a", "    ", " b"}},
                    {"x\n\ty", {"x", "\n", "\t", "y"}},
                    // Every punctuation character stands alone.
                    {"Hello!!!", {"Hello", "!", "!", "!"}},
                    {"x+=1", {"x", "+", "=", "1"}},
                    {"café 🦙", {"café", " 🦙"}},
                    // A sentinel is cut out whole, but the later steps still split inside it
                    // (as text it is no special token).
                    {"<sentinel:12>", {"<", "sentinel", ":", "1", "2", ">"}},
                    {"IMGIMGABZ", {"IMGIMGABZ"}},
                });
}

TEST(PreTokenizerMore, Gpt4o) {
  expect_splits(PreTokenizerKind::gpt4o,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"HelloWorld", {"Hello", "World"}},
                    {"HTTPServer", {"HTTPServer"}},
                    {"ALLCAPS words", {"ALLCAPS", " words"}},
                    // A word keeps its contraction, in any case.
                    {"I'm here", {"I'm", " here"}},
                    {"DON'T stop", {"DON'T", " stop"}},
                    {"WE'RE", {"WE'RE"}},
                    {"they'll've", {"they'll", "'ve"}},
                    {"1234567", {"123", "456", "7"}},
                    {"path/to/file\n", {"path", "/to", "/file", "\n"}},
                    {"x/\n", {"x", "/\n"}},
                    {"  hello", {" ", " hello"}},
                    {"hello   ", {"hello", "   "}},
                    {"a\r\n\r\nb", {"a", "\r\n\r\n", "b"}},
                    {"我想在apple工作1314151天", {"我想在apple工作", "131", "415", "1", "天"}},
                    {"Hello!!! ok", {"Hello", "!!!", " ok"}},
                    {"(hello)", {"(hello", ")"}},
                });
}

TEST(PreTokenizerMore, SeedCoder) {
  expect_splits(PreTokenizerKind::seed_coder,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"IT'S", {"IT", "'S"}},
                    {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                    {"abc123", {"abc", "1", "2", "3"}},
                    // Punctuation does not take the newlines after it.
                    {"Hello!!!\n\nworld", {"Hello", "!!!", "\n\n", "world"}},
                    {"x;\ny", {"x", ";", "\n", "y"}},
                    {"  hello", {" ", " hello"}},
                    {"a\r\n\r\nb", {"a", "\r\n\r\n", "b"}},
                    {"(hello)", {"(hello", ")"}},
                });
}

// dbrx and smaug-bpe split exactly as Llama 3 does.
TEST(PreTokenizerMore, DbrxAndSmaugSplitLikeLlama3) {
  const PreTokenizer merged(PreTokenizerKind::llama3_merged);
  const PreTokenizer llama3(PreTokenizerKind::llama_bpe);
  for (std::string_view text : {"IT'S I'M", "1234567", "Hello!!!\n\nworld", " \tx", "(hello)",
                                "我想在apple工作1314151天～"}) {
    EXPECT_EQ(split_checked(merged, text), split_checked(llama3, text)) << text;
  }
  expect_splits(PreTokenizerKind::llama3_merged,
                {{"1234567", {"123", "456", "7"}}, {"IT'S", {"IT", "'S"}}});
}

constexpr PreTokenizerKind kNewKinds[] = {
    PreTokenizerKind::falcon, PreTokenizerKind::deepseek_llm, PreTokenizerKind::llama3_merged,
    PreTokenizerKind::bloom,  PreTokenizerKind::viking,       PreTokenizerKind::chameleon,
    PreTokenizerKind::gpt4o,  PreTokenizerKind::seed_coder};

TEST(PreTokenizerMore, EmptyInputGivesNoPieces) {
  for (PreTokenizerKind kind : kNewKinds) EXPECT_TRUE(PreTokenizer(kind).split("").empty());
}

std::string repeat(std::string_view unit, size_t bytes) {
  std::string out;
  out.reserve(bytes + unit.size());
  while (out.size() < bytes) out += unit;
  return out;
}

// 256 KiB runs: a matcher that retried a run from every character would take minutes here.
TEST(PreTokenizerMore, LongRunsOfOneClassSplitCorrectly) {
  constexpr size_t kSize = size_t{1} << 18;  // = 3 * 87381 + 1
  constexpr size_t kThrees = 87382;
  const std::string letters = repeat("a", kSize);
  const std::string upper = repeat("A", kSize);
  const std::string cjk = repeat("我", kSize);
  const std::string punctuation = repeat("!", kSize);
  const std::string digits = repeat("7", kSize);
  const std::string newlines = repeat("\n", kSize);
  const std::string spaces = repeat(" ", kSize);
  // A space run that ends in something else: the trailing-space rules must not rescan it.
  const std::string spaces_then_digit = spaces + "1";
  const std::string spaces_then_emoji = spaces + "🦙";
  struct Expected {
    PreTokenizerKind kind;
    size_t digits, punctuation, newlines, spaces;
    size_t then_digit;  // pieces of spaces_then_digit
    size_t then_emoji;  // pieces of spaces_then_emoji
  };
  // Most rules leave the last space to what follows it; a digit then loses it again where
  // digits are split off (" 1" -> " ", "1"). DeepSeek LLM has no rule that cuts white space
  // before an emoji, and Chameleon cuts every four spaces and every punctuation character.
  constexpr size_t n = kSize;
  const Expected expected[] = {
      {PreTokenizerKind::falcon, kThrees, 1, 1, 1, 3, 2},
      {PreTokenizerKind::deepseek_llm, n, 1, n, 1, 2, 1},
      {PreTokenizerKind::llama3_merged, kThrees, 1, 1, 1, 3, 2},
      {PreTokenizerKind::bloom, 1, 1, 1, 1, 2, 2},
      {PreTokenizerKind::viking, n, 1, 1, 1, 3, 2},
      {PreTokenizerKind::chameleon, n, n, n, n / 4, n / 4 + 1, n / 4 + 1},
      {PreTokenizerKind::gpt4o, kThrees, 1, 1, 1, 3, 2},
      {PreTokenizerKind::seed_coder, n, 1, 1, 1, 3, 2},
  };
  for (const Expected& e : expected) {
    SCOPED_TRACE(static_cast<int>(e.kind));
    const PreTokenizer pre(e.kind);
    EXPECT_EQ(split_checked(pre, letters).size(), 1u);
    EXPECT_EQ(split_checked(pre, upper).size(), 1u);
    EXPECT_EQ(split_checked(pre, cjk).size(), 1u);
    EXPECT_EQ(split_checked(pre, digits).size(), e.digits);
    EXPECT_EQ(split_checked(pre, punctuation).size(), e.punctuation);
    EXPECT_EQ(split_checked(pre, newlines).size(), e.newlines);
    EXPECT_EQ(split_checked(pre, spaces).size(), e.spaces);
    EXPECT_EQ(split_checked(pre, spaces_then_digit).size(), e.then_digit);
    EXPECT_EQ(split_checked(pre, spaces_then_emoji).size(), e.then_emoji);
  }
}

// A mixed unit repeated k times splits into a*k + b pieces: the long input must give exactly
// what ten and eleven repeats predict.
TEST(PreTokenizerMore, LongMixedTextSplitsLikeShortRepeats) {
  const std::string_view unit = "abC1!我Ünï2345«»\u00A0x/\nカタ🦙'sDEFg мир²  (x)|y";
  for (PreTokenizerKind kind : kNewKinds) {
    SCOPED_TRACE(static_cast<int>(kind));
    const PreTokenizer pre(kind);
    const auto count = [&](size_t k) {
      return split_checked(pre, repeat(unit, k * unit.size())).size();
    };
    const size_t ten = count(10);
    const size_t per_unit = count(11) - ten;
    EXPECT_GT(per_unit, 5u);
    EXPECT_EQ(count(4000), ten + 3990 * per_unit);
  }
}

// Each name loads as tokenizer.ggml.pre of a byte-level vocabulary and its rule reaches the
// encoder: with merges that build "1234" step by step, digits split one by one give four ids,
// threes give "123" and "4", and no digit rule gives the whole number.
TEST(PreTokenizerMore, EveryNewNameLoadsAndSplitsDigitsItsWay) {
  const std::vector<int32_t> single = {0, 1, 2, 3}, threes = {5, 3}, whole = {6};
  const std::vector<std::pair<std::string, std::vector<int32_t>>> names = {
      {"falcon", threes},     {"mpt", whole},     {"deepseek-llm", single}, {"refact", single},
      {"command-r", single},  {"olmo", whole},    {"dbrx", threes},         {"smaug-bpe", threes},
      {"poro-chat", whole},   {"viking", single}, {"jais", whole},          {"chameleon", single},
      {"gpt-4o", threes},     {"bloom", whole},   {"exaone", single},       {"minerva-7b", single},
      {"seed-coder", single},
  };
  for (const auto& [name, ids] : names) {
    SCOPED_TRACE(name);
    SyntheticVocab v("gpt2");
    v.tokens({"1", "2", "3", "4", "12", "123", "1234"});
    v.merges({"1 2", "12 3", "123 4"});
    v.set("tokenizer.ggml.pre", gguf::Value::of_string(name));
    v.set("tokenizer.ggml.bos_token_id", gguf::Value::of_u32(0));
    const Tokenizer tok = v.build();
    EXPECT_EQ(tok.pre_tokenizer_name(), name);
    EXPECT_EQ(tok.encode("1234", false, false), ids);
    // Only Chameleon's vocabularies put a BOS in front by default.
    EXPECT_EQ(tok.add_bos(), name == "chameleon");
  }
}

// Falcon's digit steps read the byte-mapped text: the vocabulary's merge of 'Ð' and '¼' (the
// two bytes of 'м') can never apply, while the same vocabulary under gpt-2 merges them.
TEST(PreTokenizerMore, FalconSplitsBytesThatShowAsNumbers) {
  const auto encode = [](const char* pre) {
    SyntheticVocab v("gpt2");
    v.tokens({"Ð", "¼", "Ð¼"});
    v.merges({"Ð ¼"});
    v.set("tokenizer.ggml.pre", gguf::Value::of_string(pre));
    return v.build().encode("м", false, false);
  };
  EXPECT_EQ(encode("falcon"), (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(encode("gpt-2"), (std::vector<int32_t>{2}));
}

}  // namespace
}  // namespace hearth::tokenizer::test
