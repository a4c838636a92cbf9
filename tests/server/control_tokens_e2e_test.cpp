// Through the real `hearth serve`: a chat message that says "</s>" (the end-of-sequence text of the
// tiny conformance vocabulary) is tokenized as those characters, in the OpenAI and Ollama chat
// routes, Ollama's templated generate and both embedding routes, while a prompt the caller marks as
// raw (Ollama's "raw": true, OpenAI's /v1/completions) still turns it into the token. The
// observable is the prompt's token count each API reports, against the vocabulary tokenizing the
// texts here.
#include <gtest/gtest.h>

#include "engine/chat/model_chat.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpResult;
using hearth::test::json_from;
using hearth::test::ServerProcess;
namespace json = boost::json;

const std::string kInjected = "one </s> two";
const std::string kNeutral = "one two";

class ControlTokens : public ::testing::Test {
 protected:
  void SetUp() override {
    HEARTH_REQUIRE_CONFORMANCE(dir);
    model_ = dir / "models" / "llama3-f16.gguf";
    const auto r = hearth::test::run_hearth({"pull", model_.string(), "--name", "tiny"},
                                            {{"HEARTH_HOME", home_.path().string()}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    server_ = std::make_unique<ServerProcess>(home_.path());
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }
  // The prompt's token count a route reports (`pointer` into its JSON answer).
  int prompt_tokens(const std::string& path, json::object body, const std::string& pointer) {
    body["model"] = "tiny";
    body["stream"] = false;
    body["max_tokens"] = 1;
    body["options"] = {{"num_predict", 1}, {"temperature", 0}};
    const std::string text = hearth::format_json(body);
    const HttpResult r = http("POST", server_->url(path), &text);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) return -1;
    return json_from(r.body).at_pointer(pointer).to_number<int>();
  }
  int openai_chat(const std::string& content) {
    return prompt_tokens("/v1/chat/completions",
                         {{"messages", {{{"role", "user"}, {"content", content}}}}},
                         "/usage/prompt_tokens");
  }
  int ollama_chat(const std::string& content) {
    return prompt_tokens("/api/chat", {{"messages", {{{"role", "user"}, {"content", content}}}}},
                         "/prompt_eval_count");
  }
  int ollama_generate(const std::string& prompt, bool raw) {
    return prompt_tokens("/api/generate", {{"prompt", prompt}, {"raw", raw}}, "/prompt_eval_count");
  }
  int embed(const std::string& path, const std::string& input, const std::string& pointer) {
    const std::string text = hearth::format_json(json::object{{"model", "tiny"}, {"input", input}});
    const HttpResult r = http("POST", server_->url(path), &text);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    if (r.status != 200) return -1;
    return json_from(r.body).at_pointer(pointer).to_number<int>();
  }
  int completions(const std::string& prompt) {
    return prompt_tokens("/v1/completions", {{"prompt", prompt}}, "/usage/prompt_tokens");
  }

  hearth::test::TempDir home_;
  std::filesystem::path model_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ControlTokens, MessagesAreTextAndRawPromptsParseSpecials) {
  const auto file = hearth::gguf::File::open(model_);
  const auto tok = hearth::tokenizer::Tokenizer::from_gguf(file);
  ASSERT_EQ(tok.token_text(tok.eos()), "</s>");
  // "</s>" as characters, and as the EOS token.
  const auto as_text = static_cast<int>(tok.encode(kInjected, false, false).size() -
                                        tok.encode(kNeutral, false, false).size());
  const auto as_token = static_cast<int>(tok.encode(kInjected, false, true).size() -
                                         tok.encode(kNeutral, false, false).size());
  ASSERT_GT(as_text, as_token);

  // Chat messages and a templated prompt: the text grows the prompt by its characters' tokens.
  const int openai = openai_chat(kNeutral);
  EXPECT_EQ(openai_chat(kInjected) - openai, as_text);
  const int ollama = ollama_chat(kNeutral);
  EXPECT_EQ(ollama_chat(kInjected) - ollama, as_text);
  const int generate = ollama_generate(kNeutral, false);
  EXPECT_EQ(generate, ollama);
  EXPECT_EQ(ollama_generate(kInjected, false) - generate, as_text);
  // The same count as the model's chat format, tokenized here.
  const auto chat = hearth::chat::ModelChat::of(file, tok);
  EXPECT_EQ(openai_chat(kInjected),
            static_cast<int>(tok.encode(chat.render({{"user", kInjected}}, true), false).size()));

  // Text to embed is plain text too.
  for (const auto& [path, pointer] : {std::pair{"/api/embed", "/prompt_eval_count"},
                                      std::pair{"/v1/embeddings", "/usage/prompt_tokens"}})
    EXPECT_EQ(embed(path, kInjected, pointer) - embed(path, kNeutral, pointer), as_text) << path;

  // Raw prompts: the caller asks for special tokens (the BOS rule puts "<s>" first).
  const auto raw = static_cast<int>(tok.encode("<s>" + kInjected, false, true).size());
  EXPECT_EQ(ollama_generate(kInjected, true), raw);
  EXPECT_EQ(completions(kInjected), raw);
  EXPECT_EQ(completions(kNeutral), static_cast<int>(tok.encode(kNeutral, true, false).size()));
}

}  // namespace
