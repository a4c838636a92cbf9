// Vocabularies hearth cannot or should not load, and text no tokenizer may choke on.
#include <gtest/gtest.h>

#include "core/error.h"
#include "engine/tokenizer/utf8.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

// Builds `v` and returns the error it raises (fails the test when there is none).
Error build_error(SyntheticVocab& v) {
  try {
    v.build();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "the vocabulary loaded without an error";
  return Error(ErrorKind::internal, "");
}

bool contains(const Error& e, std::string_view part) {
  return std::string_view(e.what()).find(part) != std::string_view::npos;
}

TEST(TokenizerErrors, UnsupportedModelsNameWhatIsSupported) {
  for (const char* model : {"bert", "t5", "rwkv", "no_vocab", "plamo2"}) {
    SyntheticVocab v(model);
    v.tokens({"a", "b"});
    const Error e = build_error(v);
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << model;
    EXPECT_TRUE(contains(e, model)) << e.what();
    EXPECT_TRUE(contains(e, "supported: llama")) << e.what();
    EXPECT_TRUE(contains(e, "gpt2")) << e.what();
  }
}

TEST(TokenizerErrors, MissingTokenizerModel) {
  gguf::Writer w;
  w.set("general.name", gguf::Value::of_string("weights only"));
  const auto bytes = w.to_bytes();
  try {
    Tokenizer::from_gguf(gguf::File::parse(bytes, "weights.gguf"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_TRUE(contains(e, "tokenizer.ggml.model")) << e.what();
  }
}

TEST(TokenizerErrors, UnknownPreTokenizerNamesTheSupportedOnes) {
  SyntheticVocab v("gpt2");
  v.tokens({"a", "b", "ab"});
  v.merges({"a b"});
  v.set("tokenizer.ggml.pre", gguf::Value::of_string("made-up-pre"));
  const Error e = build_error(v);
  EXPECT_EQ(e.kind(), ErrorKind::unsupported);
  EXPECT_TRUE(contains(e, "made-up-pre")) << e.what();
  EXPECT_TRUE(contains(e, "supported: ")) << e.what();
  EXPECT_TRUE(contains(e, "llama-bpe")) << e.what();
  EXPECT_TRUE(contains(e, "seed-coder")) << e.what();
}

TEST(TokenizerErrors, MalformedVocabulariesAreCorruptFiles) {
  {
    SyntheticVocab v("gpt2");  // no merges
    v.tokens({"a", "b"});
    EXPECT_EQ(build_error(v).kind(), ErrorKind::corrupt_file);
  }
  {
    SyntheticVocab v("llama");  // no tokens
    EXPECT_EQ(build_error(v).kind(), ErrorKind::corrupt_file);
  }
  {
    SyntheticVocab v("llama");  // scores of the wrong length
    v.tokens({"a", "b", "c"});
    v.scores({0, 1});
    EXPECT_EQ(build_error(v).kind(), ErrorKind::corrupt_file);
  }
  {
    SyntheticVocab v("llama");  // token types of the wrong element type
    v.tokens({"a", "b"});
    v.set("tokenizer.ggml.token_type",
          gguf::Value::of_array(gguf::ValueType::string,
                                {gguf::Value::of_string("x"), gguf::Value::of_string("y")}));
    EXPECT_EQ(build_error(v).kind(), ErrorKind::corrupt_file);
  }
}

TEST(TokenizerErrors, OutOfRangeSpecialIdsAreIgnoredAndDefaultsApply) {
  SyntheticVocab v("gpt2");
  v.tokens({"a", "b", "ab"});
  v.merges({"a b"});
  v.set("tokenizer.ggml.bos_token_id", gguf::Value::of_u32(77));
  v.set("tokenizer.ggml.eos_token_id", gguf::Value::of_u32(2));
  const Tokenizer tok = v.build();
  EXPECT_EQ(tok.pre_tokenizer_name(), "default");
  EXPECT_EQ(tok.bos(), kNoToken);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_FALSE(tok.add_bos());
  EXPECT_EQ(tok.encode("ab", true, false), std::vector<int32_t>{2});
  EXPECT_THROW(tok.token_text(3), Error);
  EXPECT_THROW(tok.token_type(-1), Error);
}

TEST(TokenizerErrors, InvalidUtf8InputNeverCrashes) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::string broken[] = {"a\377b",
                                "\x80",
                                "tail \xE6\x97",
                                "\xED\xA0\x80 surrogate",
                                "\xC0\xAF overlong",
                                std::string("nul\0byte", 8)};
  // SentencePiece: stray bytes become byte tokens, so the exact bytes come back.
  const Tokenizer& spm = load_cached(vocab_path(dir, "tiny-spm"));
  for (const std::string& s : broken) {
    std::string raw;
    for (int32_t id : spm.encode(s, false, false)) raw += spm.token_to_piece(id, false);
    EXPECT_EQ(escaped(raw), escaped(" " + s));
    EXPECT_TRUE(utf8::is_valid(spm.decode(spm.encode(s, true, true), true)));
  }
  // Byte-level BPE: ill-formed parts become U+FFFD before pre-tokenizing, as in llama.cpp.
  for (const char* name : {"gpt-2", "llama-bpe", "qwen2"}) {
    const Tokenizer& bpe = load_cached(vocab_path(dir, name));
    for (const std::string& s : broken) {
      const auto ids = bpe.encode(s, false, true);
      EXPECT_EQ(ids, bpe.encode(utf8::sanitize(s), false, true)) << name << " " << escaped(s);
      EXPECT_EQ(escaped(bpe.decode(ids, false)), escaped(utf8::sanitize(s))) << name;
    }
    EXPECT_EQ(bpe.decode(bpe.encode("a\377b", false, false), false), "a\uFFFDb");
  }
}

TEST(Utf8, MaximalSubpartsBecomeOneReplacementEach) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::sanitize("ok"), "ok");
  EXPECT_EQ(utf8::sanitize("\xE6\x97"
                           "a"),
            r + "a");                                            // cut-short 3-byte start: one
  EXPECT_EQ(utf8::sanitize("\x80\x80"), r + r);                  // two stray continuations: two
  EXPECT_EQ(utf8::sanitize("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(utf8::sanitize("\xF0\x9F\xA6"), r);                  // truncated at the end
  EXPECT_TRUE(utf8::is_valid("\xF0\x9F\xA6\x99"));
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));
}

}  // namespace
}  // namespace hearth::tokenizer::test
