// Pre-tokenizer splits, worked out by hand from each kind's published expressions (Hugging Face
// "Isolated" splitting: matches and the gaps between them are both pieces), plus name lookup and
// 1 MB inputs that a quadratic or stack-bound matcher would not get through.
#include "engine/tokenizer/pretokenize.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pretokenize_test_support.h"

namespace hearth::tokenizer {
namespace {

using test::Case;
using test::expect_splits;
using test::Pieces;
using test::split_checked;

TEST(PreTokenizerTest, EmptyInputGivesNoPieces) {
  for (auto kind :
       {PreTokenizerKind::default_bpe, PreTokenizerKind::llama_bpe, PreTokenizerKind::qwen2,
        PreTokenizerKind::gpt2, PreTokenizerKind::deepseek_coder, PreTokenizerKind::starcoder,
        PreTokenizerKind::tekken}) {
    EXPECT_TRUE(PreTokenizer(kind).split("").empty());
  }
}

// Also mpt, olmo and jais.
TEST(PreTokenizerTest, Gpt2) {
  expect_splits(PreTokenizerKind::gpt2,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"I'm here, it's ok", {"I", "'m", " here", ",", " it", "'s", " ok"}},
                    // Contractions are case-sensitive in GPT-2: the apostrophe stands alone.
                    {"IT'S", {"IT", "'", "S"}},
                    {"1234567 apples", {"1234567", " apples"}},
                    // The last space of a run goes with the word after it.
                    {"  hello", {" ", " hello"}},
                    {"hello   ", {"hello", "   "}},
                    {"a\r\n\r\nb", {"a", "\r\n\r", "\n", "b"}},
                    {"Hello!!! ...?", {"Hello", "!!!", " ...?"}},
                    {" this is 🦙.cpp", {" this", " is", " 🦙.", "cpp"}},
                    {"我想在apple工作", {"我想在apple工作"}},
                    {"Äpfel café", {"Äpfel", " café"}},
                    // NBSP and NEL are white space but not " ", so they stand alone.
                    {"a\u00A0b", {"a", "\u00A0", "b"}},
                    {"a\u0085b", {"a", "\u0085", "b"}},
                    // ZERO WIDTH SPACE is a format character, so it joins the space before it.
                    {" \u200Bx", {" \u200B", "x"}},
                });
}

// U+180E was white space before Unicode 6.3; PCRE2's \s still takes it, Hugging Face's engines
// do not. Were it white space, "a \u180Eb" would split as "a", " ", "\u180E", "b".
TEST(PreTokenizerTest, MongolianVowelSeparatorIsNotWhiteSpace) {
  for (auto kind :
       {PreTokenizerKind::gpt2, PreTokenizerKind::llama_bpe, PreTokenizerKind::tekken}) {
    expect_splits(kind, {{"a \u180Eb", {"a", " \u180E", "b"}}});
  }
}

TEST(PreTokenizerTest, Llama3) {
  expect_splits(
      PreTokenizerKind::llama_bpe,
      {
          {"Hello world", {"Hello", " world"}},
          // Contractions ignore case.
          {"IT'S I'M", {"IT", "'S", " I", "'M"}},
          {"can't Don'T", {"can", "'t", " Don", "'T"}},
          {"1234567", {"123", "456", "7"}},
          {"  hello", {" ", " hello"}},
          {"hello   ", {"hello", "   "}},
          // A newline run takes the white space before it.
          {"a\r\n\r\nb", {"a", "\r\n\r\n", "b"}},
          {"Hello!!!\n\nworld", {"Hello", "!!!\n\n", "world"}},
          {"\n =", {"\n", " ="}},
          // One non-letter, non-newline character may lead a word.
          {" \tx", {" ", "\tx"}},
          {"(hello)", {"(hello", ")"}},
          {"$100", {"$", "100"}},
          {" 🦙.cpp", {" 🦙.", "cpp"}},
          {"我想在apple工作1314151天～", {"我想在apple工作", "131", "415", "1", "天", "～"}},
          // Khmer vowel signs are marks, not letters.
          {"កាន់", {"ក", "ាន", "់"}},
          {"Cửa Việt", {"Cửa", " Việt"}},
      });
}

TEST(PreTokenizerTest, Qwen2) {
  expect_splits(PreTokenizerKind::qwen2, {
                                             {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                                             {"abc123", {"abc", "1", "2", "3"}},
                                             {"IT'S", {"IT", "'S"}},
                                             {"  hello", {" ", " hello"}},
                                             {"a\r\n\r\nb", {"a", "\r\n\r\n", "b"}},
                                             {"(hello)", {"(hello", ")"}},
                                         });
}

TEST(PreTokenizerTest, DeepseekCoder) {
  expect_splits(PreTokenizerKind::deepseek_coder,
                {
                    {"Hello world", {"Hello", " world"}},
                    {"Hello, world!", {"Hello", ",", " world", "!"}},
                    {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                    {"  hello", {" ", " hello"}},
                    // Every newline character is a piece of its own.
                    {"a\r\nb", {"a", "\r", "\n", "b"}},
                    // "=" is a math symbol, not punctuation, so it stays in the gap.
                    {"x = 1;\n", {"x", " = ", "1", ";", "\n"}},
                    // CJK is split away from Latin letters inside one letter run.
                    {"我想在apple工作", {"我想在", "apple", "工作"}},
                    {"Hello!!! ...", {"Hello", "!!!", " ..."}},
                    {" 🦙.cpp", {" 🦙", ".", "cpp"}},
                    {"$100", {"$", "1", "0", "0"}},
                });
}

// Also refact, command-r, exaone and minerva-7b.
TEST(PreTokenizerTest, Starcoder) {
  expect_splits(PreTokenizerKind::starcoder,
                {
                    // Digits are split off first, so the space before them stands alone.
                    {"abc 1234", {"abc", " ", "1", "2", "3", "4"}},
                    {"I'm here", {"I", "'m", " here"}},
                    {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                    {"IT'S", {"IT", "'", "S"}},
                    {"x = 12;", {"x", " =", " ", "1", "2", ";"}},
                    {"  hello", {" ", " hello"}},
                    {"a\n\nb", {"a", "\n", "\n", "b"}},
                    {"Hello!!! ...?", {"Hello", "!!!", " ...?"}},
                    // Every kind of number is split, not only ASCII digits.
                    {"٣٤٥", {"٣", "٤", "٥"}},
                    {"x²", {"x", "²"}},
                });
}

TEST(PreTokenizerTest, Default) {
  expect_splits(PreTokenizerKind::default_bpe,
                {
                    {"Hello, world!", {"Hello", ",", " world", "!"}},
                    {"1234567", {"123", "456", "7"}},
                    {"x+=1", {"x", "+=", "1"}},
                    // Punctuation is split off before contractions are looked for.
                    {"I'm fine", {"I", "'", "m", " fine"}},
                    {" 12345 apples", {" ", "123", "45", " apples"}},
                });
}

TEST(PreTokenizerTest, Tekken) {
  expect_splits(PreTokenizerKind::tekken,
                {
                    // Words break where lower case turns to upper case.
                    {"HelloWorld", {"Hello", "World"}},
                    {"camelCaseWord", {"camel", "Case", "Word"}},
                    {"iPhone", {"i", "Phone"}},
                    // An upper-case run keeps the capital that starts the next word.
                    {"HTTPServer", {"HTTPServer"}},
                    {"ALLCAPS words", {"ALLCAPS", " words"}},
                    {"ÉCOLE école", {"ÉCOLE", " école"}},
                    {"  hello", {" ", " hello"}},
                    {"hello   ", {"hello", "   "}},
                    {"Hello, World!", {"Hello", ",", " World", "!"}},
                    // No contraction rule: the apostrophe leads the next word.
                    {"don't", {"don", "'t"}},
                    {"DON'T", {"DON", "'T"}},
                    {"1234567", {"1", "2", "3", "4", "5", "6", "7"}},
                    {"x1y2", {"x", "1", "y", "2"}},
                    // Punctuation takes newlines and slashes after it.
                    {"x/\n", {"x", "/\n"}},
                    {"a//\n\nb", {"a", "//\n\n", "b"}},
                    {"path/to/file\n", {"path", "/to", "/file", "\n"}},
                    {"x  \n\ny", {"x", "  \n\n", "y"}},
                    {"a\r\nb", {"a", "\r\n", "b"}},
                    {"\tTab", {"\tTab"}},
                    // Other letters (Lo) and marks count as both cases.
                    {"我想在apple工作", {"我想在apple工作"}},
                    {"កាន់", {"កាន់"}},
                    {"🦙.cpp", {"🦙.", "cpp"}},
                });
}

TEST(PreTokenizerTest, NamesMapToKinds) {
  const std::vector<std::pair<std::string_view, PreTokenizerKind>> names = {
      {"default", PreTokenizerKind::default_bpe},
      {"llama-bpe", PreTokenizerKind::llama_bpe},
      {"llama3", PreTokenizerKind::llama_bpe},
      {"llama-v3", PreTokenizerKind::llama_bpe},
      {"falcon3", PreTokenizerKind::llama_bpe},
      {"falcon-h1", PreTokenizerKind::llama_bpe},
      {"pixtral", PreTokenizerKind::llama_bpe},
      {"midm-2.0", PreTokenizerKind::llama_bpe},
      {"lfm2", PreTokenizerKind::llama_bpe},
      {"dbrx", PreTokenizerKind::llama3_merged},
      {"smaug-bpe", PreTokenizerKind::llama3_merged},
      {"qwen2", PreTokenizerKind::qwen2},
      {"deepseek-r1-qwen", PreTokenizerKind::qwen2},
      {"gpt-2", PreTokenizerKind::gpt2},
      {"mpt", PreTokenizerKind::gpt2},
      {"olmo", PreTokenizerKind::gpt2},
      {"jais", PreTokenizerKind::gpt2},
      {"deepseek-coder", PreTokenizerKind::deepseek_coder},
      {"deepseek-llm", PreTokenizerKind::deepseek_llm},
      {"starcoder", PreTokenizerKind::starcoder},
      {"refact", PreTokenizerKind::starcoder},
      {"command-r", PreTokenizerKind::starcoder},
      {"exaone", PreTokenizerKind::starcoder},
      {"minerva-7b", PreTokenizerKind::starcoder},
      {"tekken", PreTokenizerKind::tekken},
      {"falcon", PreTokenizerKind::falcon},
      {"bloom", PreTokenizerKind::bloom},
      {"poro-chat", PreTokenizerKind::bloom},
      {"viking", PreTokenizerKind::viking},
      {"chameleon", PreTokenizerKind::chameleon},
      {"gpt-4o", PreTokenizerKind::gpt4o},
      {"seed-coder", PreTokenizerKind::seed_coder},
  };
  const std::string listed = supported_pre_tokenizer_names();
  for (const auto& [name, kind] : names) {
    EXPECT_EQ(pre_tokenizer_from_name(name), kind) << name;
    EXPECT_NE((", " + listed + ",").find(", " + std::string(name) + ","), std::string::npos)
        << name << " not in " << listed;
  }
  // Every listed name is one of the above.
  size_t count = 1;
  for (char c : listed) count += c == ',';
  EXPECT_EQ(count, names.size()) << listed;
}

TEST(PreTokenizerTest, UnknownNamesGiveNothing) {
  for (std::string_view name : {"", "llama", "LLAMA3", "gpt2", "qwen2 ", "deepseek", "DBRX",
                                "falcon-7b", "gpt4o", "olmo2"}) {
    EXPECT_EQ(pre_tokenizer_from_name(name), std::nullopt) << name;
  }
}

TEST(PreTokenizerTest, MovedFromTokenizerKeepsWorkingInItsNewHome) {
  PreTokenizer a(PreTokenizerKind::tekken);
  PreTokenizer b(std::move(a));
  EXPECT_EQ(split_checked(b, "HelloWorld"), (Pieces{"Hello", "World"}));
  PreTokenizer c(PreTokenizerKind::gpt2);
  c = std::move(b);
  EXPECT_EQ(c.kind(), PreTokenizerKind::tekken);
  EXPECT_EQ(split_checked(c, "HelloWorld"), (Pieces{"Hello", "World"}));
}

TEST(PreTokenizerTest, OneTokenizerSplitsOnManyThreads) {
  const PreTokenizer pre(PreTokenizerKind::llama_bpe);
  std::vector<std::thread> threads;
  std::vector<size_t> counts(4);
  for (size_t t = 0; t < counts.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) counts[t] += pre.split("Hello world, it's 12345!").size();
    });
  }
  for (auto& thread : threads) thread.join();
  // "Hello", " world", ",", " it", "'s", " ", "123", "45", "!"
  for (size_t count : counts) EXPECT_EQ(count, 200u * 9);
}

// --- 1 MB inputs without spaces ---------------------------------------------------------------

constexpr size_t kMiB = size_t{1} << 20;

std::string repeat(std::string_view unit, size_t bytes) {
  std::string out;
  out.reserve(bytes + unit.size());
  while (out.size() < bytes) out += unit;
  return out;
}

constexpr PreTokenizerKind kAllKinds[] = {
    PreTokenizerKind::default_bpe, PreTokenizerKind::llama_bpe,      PreTokenizerKind::qwen2,
    PreTokenizerKind::gpt2,        PreTokenizerKind::deepseek_coder, PreTokenizerKind::starcoder,
    PreTokenizerKind::tekken};

TEST(PreTokenizerTest, MegabyteRunsOfOneClassSplitCorrectly) {
  const std::string letters = repeat("a", kMiB);
  const std::string upper = repeat("A", kMiB);
  const std::string punctuation = repeat("!", kMiB);
  const std::string cjk = repeat("我", kMiB);
  const std::string spaces = repeat(" ", kMiB);
  const std::string newlines = repeat("\n", kMiB);
  for (PreTokenizerKind kind : kAllKinds) {
    SCOPED_TRACE(static_cast<int>(kind));
    const PreTokenizer pre(kind);
    EXPECT_EQ(split_checked(pre, letters).size(), 1u);
    EXPECT_EQ(split_checked(pre, upper).size(), 1u);
    EXPECT_EQ(split_checked(pre, punctuation).size(), 1u);
    EXPECT_EQ(split_checked(pre, cjk).size(), 1u);
    EXPECT_EQ(split_checked(pre, spaces).size(), 1u);
    // deepseek-coder isolates each newline; the rest keep a newline run whole.
    EXPECT_EQ(split_checked(pre, newlines).size(),
              kind == PreTokenizerKind::deepseek_coder ? kMiB : 1u);
  }
}

TEST(PreTokenizerTest, MegabyteOfDigitsSplitsPerKind) {
  const std::string digits = repeat("7", kMiB);  // 2^20 = 3 * 349525 + 1
  const auto count = [&](PreTokenizerKind kind) {
    return split_checked(PreTokenizer(kind), digits).size();
  };
  EXPECT_EQ(count(PreTokenizerKind::gpt2), 1u);
  EXPECT_EQ(count(PreTokenizerKind::llama_bpe), 349526u);
  EXPECT_EQ(count(PreTokenizerKind::default_bpe), 349526u);
  EXPECT_EQ(count(PreTokenizerKind::qwen2), kMiB);
  EXPECT_EQ(count(PreTokenizerKind::deepseek_coder), kMiB);
  EXPECT_EQ(count(PreTokenizerKind::starcoder), kMiB);
  EXPECT_EQ(count(PreTokenizerKind::tekken), kMiB);
}

// A mixed unit repeated k times splits into a*k + b pieces; checking that the 1 MB input gives
// exactly what ten and eleven repeats predict catches pieces lost or merged deep in the text.
TEST(PreTokenizerTest, MegabyteOfMixedTextSplitsLikeShortRepeats) {
  const std::string_view unit = "abC1!我Ünï2345«»\u00A0x/\nカタ🦙'sDEFg";
  const size_t repeats = kMiB / unit.size() + 1;
  for (PreTokenizerKind kind : kAllKinds) {
    SCOPED_TRACE(static_cast<int>(kind));
    const PreTokenizer pre(kind);
    const auto count = [&](size_t k) {
      return split_checked(pre, repeat(unit, k * unit.size())).size();
    };
    const size_t ten = count(10);
    const size_t per_unit = count(11) - ten;
    EXPECT_GT(per_unit, 5u);
    EXPECT_EQ(count(repeats), ten + (repeats - 10) * per_unit);
  }
}

}  // namespace
}  // namespace hearth::tokenizer
