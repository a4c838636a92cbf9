// The model references in shared/conformance/models/: every prompt's tokens (add_special on, so
// BOS first) and the detokenized greedy text, produced by llama.cpp with the tiny-spm vocabulary
// each model file carries.
#include <gtest/gtest.h>


#include "support/json_test_util.h"
#include "tokenizer_test_support.h"

namespace hearth::tokenizer::test {
namespace {

namespace json = boost::json;

std::string from_hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(ModelPrompts, P1TokensFromTheReadme) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Tokenizer& tok = load_cached(vocab_path(dir, "tiny-spm"));
  const std::vector<int32_t> expected = {1,   612, 580, 956, 420, 716, 687,
                                         696, 701, 622, 264, 704, 693, 912};
  EXPECT_EQ(tok.encode("Hello world! The quick brown fox jumps over the lazy dog.", true, false),
            expected);
  EXPECT_EQ(tok.bos(), 1);
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.unk(), 0);
  EXPECT_TRUE(tok.add_bos());
  EXPECT_FALSE(tok.add_eos());
  EXPECT_TRUE(tok.add_space_prefix());
  EXPECT_EQ(tok.n_vocab(), 1000);
}

class ModelReference : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelReference, PromptTokensAndGreedyText) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto models = dir / "models";
  const auto ref_value = hearth::test::json_from(
      hearth::test::read_file(models / (GetParam() + ".ref.json")));
  const auto& ref = ref_value.as_object();
  // Every model file carries the tiny-spm tokenizer keys; load the model's own copy.
  const Tokenizer tok = Tokenizer::from_gguf(gguf::File::open(models / (GetParam() + ".gguf")));
  ASSERT_EQ(tok.n_vocab(), json::value_to<int32_t>(ref.at("n_vocab")));
  EXPECT_EQ(tok.add_bos(), ref.at("add_bos").as_bool());
  EXPECT_EQ(tok.add_eos(), ref.at("add_eos").as_bool());
  ASSERT_GE(ref.at("cases").as_array().size(), 3u);
  for (const auto& case_value : ref.at("cases").as_array()) {
    const auto& c = case_value.as_object();
    const auto name = json::value_to<std::string>(c.at("name"));
    const auto expected = json::value_to<std::vector<int32_t>>(c.at("tokens"));
    EXPECT_EQ(tok.encode(json::value_to<std::string>(c.at("prompt")), true, false), expected)
        << name;

    // llama.cpp's detokenize(remove_special=false, unparse_special=true) drops the leading space
    // of the first piece; the hex field holds its raw bytes, the text field those bytes with
    // U+FFFD for ill-formed parts.
    const auto greedy = json::value_to<std::vector<int32_t>>(c.at("greedy"));
    std::string raw;
    for (int32_t id : greedy) raw += tok.token_to_piece(id, true);
    if (!raw.empty() && raw.front() == ' ') raw.erase(0, 1);
    EXPECT_EQ(escaped(raw),
              escaped(from_hex(json::value_to<std::string>(c.at("greedy_text_utf8_hex")))))
        << name;
    EXPECT_EQ(escaped(tok.decode(greedy, true, true)),
              escaped(json::value_to<std::string>(c.at("greedy_text"))))
        << name << ": " << ids_text(greedy);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ModelReference,
                         ::testing::Values("llama-gqa-f32", "llama3-f16", "qwen2-f32", "phi3-f32",
                                           "mixtral-f32", "quant-base-q4_k_m"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace hearth::tokenizer::test
