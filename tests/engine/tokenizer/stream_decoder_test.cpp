// Detokenizing: pieces of single tokens, the streaming decoder holding back split characters,
// and valid UTF-8 out of any id sequence.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "engine/tokenizer/utf8.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

TEST(Detokenize, PiecesOfSingleTokens) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  EXPECT_EQ(tok.token_to_piece(612, false), " Hello");
  EXPECT_EQ(tok.token_to_piece(3 + 0xE6, false), "\xE6");  // <0xE6> is one raw byte
  EXPECT_EQ(tok.token_to_piece(1, false), "");
  EXPECT_EQ(tok.token_to_piece(1, true), "<s>");
  EXPECT_EQ(tok.token_to_piece(0, false), "");
  EXPECT_EQ(tok.token_to_piece(0, true), "<unk>");

  const Tokenizer& gpt2 = load_cached(vocab_path(dir, "gpt-2"));
  const auto ids = gpt2.encode(" world\n", false, false);
  std::string joined;
  for (int32_t id : ids) joined += gpt2.token_to_piece(id, false);
  EXPECT_EQ(joined, " world\n");  // 'Ġ' and 'Ċ' mapped back to bytes
}

TEST(Detokenize, RemoveSpacePrefixOnlyTouchesTheFirstVisiblePiece) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  const auto ids = tok.encode("Hello world", true, false);
  EXPECT_EQ(tok.decode(ids, false, true), "Hello world");
  EXPECT_EQ(tok.decode(ids, false, false), " Hello world");
  EXPECT_EQ(tok.decode(ids, true, true), "<s> Hello world");
  // BPE vocabularies add no prefix, so there is nothing to remove.
  const Tokenizer& gpt2 = load_cached(vocab_path(dir, "gpt-2"));
  EXPECT_EQ(gpt2.decode(gpt2.encode(" Hello", false, false), false, true), " Hello");
}

TEST(StreamDecoder, HoldsBackACharacterSplitAcrossByteTokens) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  const std::string llama = "\xF0\x9F\xA6\x99";  // 🦙, four byte tokens after "▁"
  const auto ids = tok.encode(llama, false, false);
  ASSERT_EQ(ids.size(), 5u);
  StreamDecoder stream(tok);
  EXPECT_EQ(stream.push(ids[0]), " ");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.push(ids[2]), "");
  EXPECT_EQ(stream.push(ids[3]), "");
  EXPECT_EQ(stream.push(ids[4]), llama);
  EXPECT_EQ(stream.finish(), "");
}

TEST(StreamDecoder, IncompleteAndInvalidBytesBecomeReplacementCharacters) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  const int32_t e6 = 3 + 0xE6, x97 = 3 + 0x97, a = *tok.find_token("a");
  StreamDecoder stream(tok);
  EXPECT_EQ(stream.push(e6), "");
  EXPECT_EQ(stream.finish(), "\xEF\xBF\xBD");
  // A started character interrupted by ASCII: one U+FFFD for the broken start, then the text.
  EXPECT_EQ(stream.push(e6), "");
  EXPECT_EQ(stream.push(x97), "");
  EXPECT_EQ(stream.push(a), "\uFFFDa");
  // A stray continuation byte.
  EXPECT_EQ(stream.push(x97), "\xEF\xBF\xBD");
  EXPECT_EQ(stream.finish(), "");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{e6}, false), "\xEF\xBF\xBD");
}

TEST(StreamDecoder, BytePairTokensSplittingAnEmoji) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "gpt-2"));
  const std::string text = "x \xF0\x9F\xA6\x99\xF0\x9F\x9A\x80 y";  // x 🦙🚀 y
  const auto ids = tok.encode(text, false, false);
  StreamDecoder stream(tok);
  std::string out;
  for (int32_t id : ids) {
    const std::string piece = stream.push(id);
    EXPECT_TRUE(utf8::is_valid(piece)) << escaped(piece);
    out += piece;
  }
  out += stream.finish();
  EXPECT_EQ(out, text);
}

TEST(StreamDecoder, OutOfRangeIdsAreErrors) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  StreamDecoder stream(tok);
  for (int32_t bad : {-1, 1000, INT32_MAX}) {
    try {
      stream.push(bad);
      ADD_FAILURE() << "no error for id " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      EXPECT_NE(std::string(e.what()).find(std::to_string(bad)), std::string::npos) << e.what();
    }
    EXPECT_THROW(tok.decode(std::vector<int32_t>{5, bad}, false), Error);
    EXPECT_THROW(tok.token_to_piece(bad, true), Error);
  }
}

TEST(StreamDecoder, RandomIdSequencesGiveValidUtf8) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  std::mt19937 rng(1234);
  for (const char* name : {"tiny-spm", "gpt-2", "qwen2"}) {
    const Tokenizer& tok = load_cached(vocab_path(dir, name));
    for (int round = 0; round < 300; ++round) {
      std::vector<int32_t> ids(1 + rng() % 24);
      for (int32_t& id : ids) {
        // Favour byte tokens (tiny-spm 3..258) and the low ids where GPT-2 keeps single bytes.
        id = rng() % 2 ? static_cast<int32_t>(rng() % 260)
                       : static_cast<int32_t>(rng() % tok.n_vocab());
      }
      for (bool special : {false, true}) {
        const std::string text = tok.decode(ids, special);
        ASSERT_TRUE(utf8::is_valid(text)) << name << " " << ids_text(ids);
        StreamDecoder stream(tok, special);
        std::string streamed;
        for (int32_t id : ids) {
          const std::string piece = stream.push(id);
          ASSERT_TRUE(utf8::is_valid(piece)) << name << " " << ids_text(ids);
          streamed += piece;
        }
        streamed += stream.finish();
        ASSERT_EQ(streamed, text) << name << " " << ids_text(ids);
      }
    }
  }
}

}  // namespace
}  // namespace hearth::tokenizer::test
