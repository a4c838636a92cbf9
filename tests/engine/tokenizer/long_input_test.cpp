// 1 MB inputs without a single space: one symbol list of a million entries for SentencePiece and
// one pre-tokenizer word of a million bytes for byte-level BPE. A quadratic merge loop would not
// finish; these only check the results, never the time.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine/tokenizer/utf8.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

constexpr size_t kSize = 1 << 20;

std::string repeated(std::string_view unit, size_t size) {
  std::string s;
  s.reserve(size + unit.size());
  while (s.size() < size) s.append(unit);
  return s;
}

void expect_round_trip(const Tokenizer& tok, const std::string& text) {
  const auto ids = tok.encode(text, false, false);
  ASSERT_FALSE(ids.empty());
  EXPECT_LT(ids.size(), text.size() + 1);
  const std::string back = tok.decode(ids, false, true);
  ASSERT_EQ(back.size(), text.size());
  EXPECT_TRUE(back == text) << "the decoded text differs from the 1 MB input";
}

TEST(LongInput, SentencePieceMegabyteWithoutSpaces) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  expect_round_trip(tok, repeated("helloworld", kSize));
  expect_round_trip(tok, std::string(kSize, 'a'));
  expect_round_trip(tok, repeated("return", kSize));
}

TEST(LongInput, BytePairMegabyteWithoutSpaces) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  expect_round_trip(load_cached(vocab_path(dir, "gpt-2")), std::string(kSize, 'a'));
  expect_round_trip(load_cached(vocab_path(dir, "llama-bpe")), repeated("helloworld", kSize));
}

TEST(LongInput, MegabyteOfRandomBytes) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  std::mt19937 rng(7);
  std::string noise(kSize, '\0');
  for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
  const Tokenizer& spm = load_cached(vocab_path(dir, "tiny-spm"));
  EXPECT_EQ(spm.decode(spm.encode(noise, false, false), false, true).size() > 0, true);
  const Tokenizer& bpe = load_cached(vocab_path(dir, "qwen2"));
  const std::string back = bpe.decode(bpe.encode(noise, false, false), false);
  EXPECT_TRUE(utf8::is_valid(back));
  EXPECT_EQ(back, utf8::sanitize(noise));
}

TEST(LongInput, SharedAcrossThreads) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "llama-bpe"));
  const std::string text = repeated("The quick brown fox, 12345 times! ", 64 * 1024);
  const auto expected = tok.encode(text, true, true);
  std::vector<std::vector<int32_t>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&] { r = tok.encode(text, true, true); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

}  // namespace
}  // namespace hearth::tokenizer::test
