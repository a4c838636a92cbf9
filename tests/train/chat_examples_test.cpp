// Chat training data (train/chat_examples.h): conversations rendered with the model's own chat
// format, the answers (through their end-of-turn token) as targets, weight 0 as context, and bad
// lines named by number before anything trains. Uses the conformance pack's vocabularies that
// carry a chat template (Llama 3, Qwen2 / ChatML, Phi-3).
#include "train/chat_examples.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/test_support.h"

namespace hearth::train {
namespace {

namespace fs = std::filesystem;

struct Vocab {
  gguf::File file;
  tokenizer::Tokenizer tokenizer;
  chat::ModelChat chat;
};

Vocab vocab(const fs::path& dir, const std::string& name) {
  gguf::File file = gguf::File::open(dir / "tokenizer" / ("ggml-vocab-" + name + ".gguf"));
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(file);
  chat::ModelChat chat = chat::ModelChat::of(file, tok);
  return {std::move(file), std::move(tok), std::move(chat)};
}

// The text of each run of target tokens.
std::vector<std::string> target_texts(const Example& ex, const tokenizer::Tokenizer& tok) {
  std::vector<std::string> out;
  std::vector<int32_t> run;
  for (size_t t = 0; t <= ex.tokens.size(); ++t) {
    if (t < ex.tokens.size() && ex.mask[t]) {
      run.push_back(ex.tokens[t]);
    } else if (!run.empty()) {
      out.push_back(tok.decode(run, /*render_special=*/true));
      run.clear();
    }
  }
  return out;
}

const std::vector<chat::ChatMessage> kConversation = {
    {"system", "Be brief."}, {"user", "Hello"},  {"assistant", "Hi there"},
    {"user", "Again?"},      {"assistant", "old"}, {"user", "Bye"},
    {"assistant", "Goodbye"}};
const std::vector<bool> kTrained = {false, false, true, false, false, false, true};

TEST(ChatExamples, AnswersThroughTheirEndOfTurnAreTheTargets) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const struct {
    const char* vocab;
    std::vector<std::string> targets;
  } cases[] = {{"llama-bpe", {"Hi there<|eot_id|>", "Goodbye<|eot_id|>"}},
               {"qwen2", {"Hi there<|im_end|>", "Goodbye<|im_end|>"}},
               // SentencePiece: the answer's first word is the "▁Hi" piece, as when tokenized whole.
               {"phi-3", {" Hi there<|end|>", " Goodbye<|end|>"}}};
  for (const auto& c : cases) {
    const Vocab v = vocab(dir, c.vocab);
    const Example ex = conversation_example(v.chat, v.tokenizer, kConversation, kTrained);
    ASSERT_EQ(ex.tokens.size(), ex.mask.size());
    EXPECT_EQ(target_texts(ex, v.tokenizer), c.targets) << c.vocab;
    // The whole sequence is the conversation as the model's chat format renders it.
    EXPECT_EQ(ex.tokens,
              v.tokenizer.encode(v.chat.render(kConversation, false).text(), false, true))
        << c.vocab;
    // What comes before the first answer is exactly what inference is asked with.
    const auto prompt = v.tokenizer.encode(
        v.chat.render({kConversation.begin(), kConversation.begin() + 2}, true).text(), false,
        true);
    ASSERT_LT(prompt.size(), ex.tokens.size());
    EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), ex.tokens.begin())) << c.vocab;
    EXPECT_EQ(ex.mask[prompt.size()], 1) << c.vocab;
    EXPECT_EQ(ex.mask[prompt.size() - 1], 0) << c.vocab;
  }
}

TEST(ChatExamples, AConversationWithNothingToLearnIsRefused) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Vocab v = vocab(dir, "llama-bpe");
  test::expect_error(
      [&] {
        conversation_example(v.chat, v.tokenizer, kConversation,
                             std::vector<bool>(kConversation.size(), false));
      },
      ErrorKind::invalid_input, {"no answer to learn"});
}

TEST(ChatExamples, ExportedFilesAreReadAndBadLinesNamedBeforeTraining) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const Vocab v = vocab(dir, "qwen2");
  const fs::path good = tmp.path() / "good.jsonl";
  std::ofstream(good)
      << R"({"messages":[{"role":"user","content":"2+2?"},{"role":"assistant","content":"4"}]})"
      << "\n\n"
      << R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","weight":0},)"
      << R"({"role":"user","content":"c"},{"role":"assistant","content":"d"}]})" << "\n";
  const auto examples = read_training_file(good, v.chat, v.tokenizer);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(target_texts(examples[0], v.tokenizer), std::vector<std::string>{"4<|im_end|>"});
  EXPECT_EQ(target_texts(examples[1], v.tokenizer), std::vector<std::string>{"d<|im_end|>"});

  const fs::path bad = tmp.path() / "bad.jsonl";
  std::ofstream(bad)
      << R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]})" << "\n"
      << R"({"messages":[{"role":"robot","content":"x"}]})" << "\n"
      << "not json\n";
  test::expect_error([&] { read_training_file(bad, v.chat, v.tokenizer); },
                     ErrorKind::invalid_input, {"line 2:", "line 3:", "nothing was trained"});
  // The pre-tokenized format is told apart by its first line.
  const fs::path tokens = tmp.path() / "tokens.jsonl";
  std::ofstream(tokens) << R"({"tokens": [1, 2, 3], "mask": [0, 1, 1]})" << "\n";
  const auto pre = read_training_file(tokens, v.chat, v.tokenizer);
  ASSERT_EQ(pre.size(), 1u);
  EXPECT_EQ(pre[0].tokens, (std::vector<int32_t>{1, 2, 3}));
}

}  // namespace
}  // namespace hearth::train
