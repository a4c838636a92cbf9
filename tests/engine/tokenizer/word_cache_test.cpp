// The word cache gives the ids the merges give: every conformance string and a mixed text,
// encoded with the cache off, then on twice (the second time every word is a hit), with and
// without special tokens, invalid UTF-8 and characters the vocabulary lacks (byte fallback);
// from several threads at once; and with the cache's caps reached.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/vocab.h"
#include "engine/tokenizer/word_cache.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Text that reaches every path: words repeated in new places, runs of spaces and newlines,
// control-token text, invalid UTF-8, scripts small vocabularies lack, emoji.
std::string mixed_text() {
  return "The quick brown fox; the quick  brown   fox.\n\n\tdef f(x):\n        return x + 1\n"
         "<s> </s> <|endoftext|> <|im_start|>user\nhi<|im_end|> [INST] ok [/INST]\n"
         "bad \xFF\xFE bytes \xE2\x96 cut \xC3 end, caf\xC3\xA9 na\xC3\xAFve "
         "\xE6\x9D\xB1\xE4\xBA\xAC "
         "\xF0\x9F\xA6\x99\xF0\x9F\x9A\x80 12345 3.14159 ______ ---- ==== \xE2\x96\x81 "
         "x\xE2\x96\x81y "
         "The quick brown fox   the quick brown fox";
}

// Switches the process-wide cache off for one scope (the tests run one at a time).
struct CacheOff {
  CacheOff() { set_word_cache_enabled(false); }
  ~CacheOff() { set_word_cache_enabled(true); }
};

std::vector<int32_t> encode_without_cache(const Tokenizer& tok, const std::string& text,
                                          bool special) {
  CacheOff off;
  return tok.encode(text, true, special);
}

void expect_same_ids(const Tokenizer& tok, const std::string& text, const std::string& what) {
  ASSERT_TRUE(word_cache_enabled());
  for (bool special : {false, true}) {
    const auto expected = encode_without_cache(tok, text, special);
    const auto first = tok.encode(text, true, special);
    const auto second = tok.encode(text, true, special);
    EXPECT_EQ(ids_text(first), ids_text(expected)) << what << " " << escaped(text);
    EXPECT_EQ(ids_text(second), ids_text(expected)) << what << " again " << escaped(text);
  }
}

TEST(WordCache, ConformanceStringsMatchTheMerges) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const std::string& name : conformance_vocabs()) {
    // A fresh tokenizer: its cache starts empty, so the first pass stores and the second hits.
    const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(vocab_path(dir, name)));
    const std::string inputs = read_file(vocab_path(dir, name).string() + ".inp");
    std::string all;
    for (const std::string& s : split_inputs(inputs)) {
      expect_same_ids(tok, s, name);
      all += s + " ";
    }
    expect_same_ids(tok, all, name + " (all strings as one text)");
    expect_same_ids(tok, mixed_text(), name + " (mixed text)");
  }
}

// The encoders themselves, with the vocabulary at hand: the cache fills for every conformance
// vocabulary (both real SentencePiece ones allow cutting into words), so the comparisons above
// did compare cached answers.
TEST(WordCache, EveryConformanceVocabularyUsesIt) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::string text = "the cat sat on the mat, the cat sat on the mat";
  for (const std::string& name : conformance_vocabs()) {
    const auto vocab = load_vocab(gguf::File::open(vocab_path(dir, name)));
    std::vector<int32_t> plain, cached;
    if (vocab->model == TokenizerModel::spm) {
      EXPECT_TRUE(vocab->spm_word_split) << name;
      std::string prepared = "\xE2\x96\x81";
      for (char c : text) prepared += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
      encode_spm(*vocab, prepared, plain, nullptr);
      for (int pass = 0; pass < 3; ++pass) {  // seen, stored, found
        cached.clear();
        encode_spm(*vocab, prepared, cached, &vocab->word_cache);
        EXPECT_EQ(ids_text(cached), ids_text(plain)) << name << " pass " << pass;
      }
    } else {
      encode_bpe(*vocab, text, plain, nullptr);
      for (int pass = 0; pass < 3; ++pass) {
        cached.clear();
        encode_bpe(*vocab, text, cached, &vocab->word_cache);
        EXPECT_EQ(ids_text(cached), ids_text(plain)) << name << " pass " << pass;
      }
    }
    EXPECT_GT(vocab->word_cache.size(), 4u) << name;
    EXPECT_LT(vocab->word_cache.size(), 12u) << name << ": repeated words stored twice?";
  }
}

TEST(WordCache, SentencePieceSplitsOnlyWhenNoPieceCrossesAWordStart) {
  // "a▁b" joins a character to the "▁" after it, so cutting "a▁b" into "a" and "▁b" would lose
  // that token: this vocabulary must be encoded whole (the cache stays unused).
  const std::vector<std::string> texts = {"<unk>",
                                          "<s>",
                                          "</s>",
                                          "\xE2\x96\x81",
                                          "a",
                                          "b",
                                          "\xE2\x96\x81"
                                          "b",
                                          "a\xE2\x96\x81"
                                          "b"};
  SyntheticVocab joined("llama");
  joined.tokens(texts);
  joined.scores({0, 0, 0, -1, -1, -1, -2, 5});
  joined.types({2, 3, 3, 1, 1, 1, 1, 1});
  const Tokenizer tok = joined.build();
  const auto ids = tok.encode("a b a b", false, false);
  EXPECT_EQ(ids_text(ids), "[3 7 3 7]");  // "▁", "a▁b", "▁", "a▁b"
  expect_same_ids(tok, "a b a b", "joined vocabulary");

  // Without that piece the same text is cut into words and the cache fills.
  SyntheticVocab split("llama");
  split.tokens({texts.begin(), texts.end() - 1});
  split.scores({0, 0, 0, -1, -1, -1, -2});
  split.types({2, 3, 3, 1, 1, 1, 1});
  const Tokenizer words = split.build();
  expect_same_ids(words, "a b a b  b", "split vocabulary");
  EXPECT_EQ(ids_text(words.encode("a b", false, false)), "[3 4 6]");  // "▁", "a", "▁b"
}

TEST(WordCache, WordSplitCheckOfSentencePiecePieces) {
  const std::string space = "\xE2\x96\x81";
  EXPECT_TRUE(spm_pieces_allow_word_split(
      {"a", space, space + "a", space + space, space + space + "x", "<0x0A>"}));
  EXPECT_FALSE(spm_pieces_allow_word_split({"a", "a" + space}));
  EXPECT_FALSE(spm_pieces_allow_word_split({space + "a" + space + "b"}));
  EXPECT_FALSE(spm_pieces_allow_word_split({space + space + "." + space}));
}

TEST(WordCache, ThreadsEncodingAtOnceGetTheMergesIds) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* name : {"qwen2", "llama-spm"}) {
    const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(vocab_path(dir, name)));
    std::string text;
    for (int i = 0; i < 20; ++i) text += mixed_text() + " word" + std::to_string(i * 7) + "\n";
    const auto expected = encode_without_cache(tok, text, false);
    std::vector<std::vector<int32_t>> got(4);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < got.size(); ++t)
      threads.emplace_back([&, t] {
        for (int r = 0; r < 3; ++r) got[t] = tok.encode(text, true, false);
      });
    for (auto& th : threads) th.join();
    for (const auto& ids : got) EXPECT_EQ(ids_text(ids), ids_text(expected)) << name;
  }
}

TEST(WordCache, StaysWithinItsCaps) {
  WordCache cache;
  std::vector<int32_t> out;
  EXPECT_FALSE(cache.lookup("hello", out));
  const std::vector<int32_t> ids = {1, 2, 3};
  cache.insert("hello", ids);  // first offer: only marked as seen
  EXPECT_FALSE(cache.lookup("hello", out));
  EXPECT_EQ(cache.size(), 0u);
  cache.insert("hello", ids);
  ASSERT_TRUE(cache.lookup("hello", out));
  EXPECT_EQ(ids_text(out), "[1 2 3]");
  cache.insert("hello", std::vector<int32_t>{9});  // already stored: kept as it was
  out.clear();
  ASSERT_TRUE(cache.lookup("hello", out));
  EXPECT_EQ(ids_text(out), "[1 2 3]");

  // Too long to store, and empty: never stored.
  const std::string long_word(WordCache::kMaxWordBytes + 1, 'x');
  for (int i = 0; i < 2; ++i) {
    cache.insert(long_word, ids);
    cache.insert("", ids);
  }
  EXPECT_FALSE(cache.lookup(long_word, out));
  EXPECT_EQ(cache.size(), 1u);

  // Many more words than fit: the count stays under the cap, and recent words are found.
  const size_t cap = WordCache::kShards * WordCache::kMaxEntriesPerShard;
  for (size_t i = 0; i < 3 * cap; ++i) {
    cache.insert("w" + std::to_string(i), ids);
    cache.insert("w" + std::to_string(i), ids);
  }
  EXPECT_LE(cache.size(), cap);
  EXPECT_GT(cache.size(), cap / 8);  // shards are emptied when full, so about half remain
  out.clear();
  EXPECT_TRUE(cache.lookup("w" + std::to_string(3 * cap - 1), out));
  // A word with more ids than a shard holds is not stored rather than overflowing it.
  const std::vector<int32_t> many(WordCache::kMaxIdsPerShard + 1, 5);
  cache.insert("many", many);
  cache.insert("many", many);
  EXPECT_FALSE(cache.lookup("many", out));
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
}

TEST(WordCache, ManyDistinctWordsStayBoundedAndExact) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = load_vocab(gguf::File::open(vocab_path(dir, "gpt-2")));
  std::string text;
  for (int i = 0; i < 40000; ++i) text += " w" + std::to_string(i * 7919);
  std::vector<int32_t> plain;
  encode_bpe(*vocab, text, plain, nullptr);
  for (int pass = 0; pass < 2; ++pass) {  // the first pass only marks the words as seen
    std::vector<int32_t> cached;
    encode_bpe(*vocab, text, cached, &vocab->word_cache);
    EXPECT_EQ(ids_text(cached), ids_text(plain));
  }
  EXPECT_GT(vocab->word_cache.size(), 1000u);
  EXPECT_LE(vocab->word_cache.size(), WordCache::kShards * WordCache::kMaxEntriesPerShard);
}

}  // namespace
}  // namespace hearth::tokenizer::test
