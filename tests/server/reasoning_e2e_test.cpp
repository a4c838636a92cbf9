// Reasoning apart from the answer through the real `hearth serve`, in both APIs, streamed and
// not: a scripted model (scripted_model.h) with a DeepSeek-R1 chat template (whose generation
// prompt opens "<think>\n") writes "So</think>Yes". OpenAI's answer carries "So" as
// reasoning_content and "Yes" as content; Ollama's as message.thinking and message.content.
// Thinking turned off closes the block in the prompt (the text then is all answer), and an
// answer sent back in the history goes without its reasoning.
#include <gtest/gtest.h>

#include "server/scripted_model.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpResult;
using hearth::test::json_from;
using hearth::test::ServerProcess;
using Env = std::vector<std::pair<std::string, std::string>>;
namespace json = boost::json;

// A template DeepSeek-R1's markers identify (hearth renders the family's format itself).
const std::string kR1Template =
    "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}<｜User｜>{{ m.content }}"
    "{% elif m.role == 'assistant' %}<｜Assistant｜>{{ m.content.split('</think>')[-1] }}"
    "<｜end▁of▁sentence｜>{% endif %}{% endfor %}{% if add_generation_prompt %}<｜Assistant｜>"
    "<think>\\n{% endif %}";

struct Reply {
  std::string content, reasoning;
  int prompt_tokens = 0;
};

class Reasoning : public ::testing::Test {
 protected:
  void SetUp() override {
    HEARTH_REQUIRE_CONFORMANCE(dir);
    const auto file = home_.path() / "scripted.gguf";
    hearth::test::write_scripted_model(dir, file, {"<think>\n", "So</think>Yes", kR1Template});
    if (HasFatalFailure()) return;
    const auto r = hearth::test::run_hearth({"pull", file.string(), "--name", "thinker"},
                                            {{"HEARTH_HOME", home_.path().string()}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    server_ = std::make_unique<ServerProcess>(home_.path());
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }

  HttpResult post(const std::string& path, json::object body) {
    body["model"] = "thinker";
    body["temperature"] = 0;
    body["options"] = {{"temperature", 0}};
    const std::string text = hearth::format_json(body);
    HttpResult r = http("POST", server_->url(path), &text);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r;
  }

  Reply openai(json::object body, bool stream) {
    body["stream"] = stream;
    body["stream_options"] = {{"include_usage", true}};
    const HttpResult r = post("/v1/chat/completions", std::move(body));
    Reply out;
    if (r.status != 200) return out;
    if (!stream) {
      const json::value v = json_from(r.body);
      const auto& m = v.at_pointer("/choices/0/message").as_object();
      out.content = m.at("content").as_string();
      if (const auto* rc = m.if_contains("reasoning_content")) out.reasoning = rc->as_string();
      out.prompt_tokens = v.at_pointer("/usage/prompt_tokens").to_number<int>();
      return out;
    }
    bool content_seen = false;
    for (size_t at = 0; (at = r.body.find("data: {", at)) != std::string::npos;) {
      const size_t end = r.body.find("\n\n", at);
      const json::value chunk = json_from(r.body.substr(at + 6, end - at - 6));
      at = end;
      if (const auto* u = chunk.as_object().if_contains("usage"); u && u->is_object())
        out.prompt_tokens = u->at("prompt_tokens").to_number<int>();
      const auto& choices = chunk.at("choices").as_array();
      if (choices.empty()) continue;
      const auto& delta = choices[0].at("delta").as_object();
      if (const auto* c = delta.if_contains("content")) {
        out.content += c->as_string();
        content_seen = content_seen || !c->as_string().empty();
      }
      if (const auto* rc = delta.if_contains("reasoning_content")) {
        EXPECT_FALSE(content_seen) << "reasoning streamed after the answer began";
        out.reasoning += rc->as_string();
      }
    }
    return out;
  }

  Reply ollama(json::object body, bool stream) {
    body["stream"] = stream;
    const HttpResult r = post("/api/chat", std::move(body));
    Reply out;
    if (r.status != 200) return out;
    size_t from = 0;
    while (from < r.body.size()) {
      size_t nl = r.body.find('\n', from);
      if (nl == std::string::npos) nl = r.body.size();
      if (nl > from) {
        const json::value line = json_from(r.body.substr(from, nl - from));
        const auto& m = line.at("message").as_object();
        out.content += m.at("content").as_string();
        if (const auto* t = m.if_contains("thinking")) out.reasoning += t->as_string();
        if (line.at("done").as_bool())
          out.prompt_tokens = line.at("prompt_eval_count").to_number<int>();
      }
      from = nl + 1;
    }
    return out;
  }

  hearth::test::TempDir home_;
  std::unique_ptr<ServerProcess> server_;
};

json::array ask() { return {{{"role", "user"}, {"content", "Is it?"}}}; }

TEST_F(Reasoning, OpenAiGivesReasoningApartStreamedAndNot) {
  for (const bool stream : {false, true}) {
    const Reply r = openai({{"messages", ask()}, {"max_tokens", 20}}, stream);
    EXPECT_EQ(r.reasoning, "So") << "stream " << stream;
    EXPECT_EQ(r.content, "Yes") << "stream " << stream;
  }
}

TEST_F(Reasoning, OllamaGivesThinkingApartStreamedAndNot) {
  for (const bool stream : {false, true}) {
    const Reply r = ollama({{"messages", ask()}, {"options", {{"num_predict", 20}}}}, stream);
    EXPECT_EQ(r.reasoning, "So") << "stream " << stream;
    EXPECT_EQ(r.content, "Yes") << "stream " << stream;
  }
}

TEST_F(Reasoning, ThinkingOffClosesTheBlockInThePrompt) {
  const Reply on = ollama({{"messages", ask()}}, false);
  const Reply off = ollama({{"messages", ask()}, {"think", false}}, false);
  EXPECT_TRUE(off.reasoning.empty()) << off.reasoning;
  // The script runs on, but as the answer now (after the space SentencePiece puts in front).
  EXPECT_EQ(off.content, " So</think>Yes");
  EXPECT_GT(off.prompt_tokens, on.prompt_tokens) << "the prompt closes an empty block";
  const Reply kw = openai({{"messages", ask()}, {"chat_template_kwargs", {{"enable_thinking", false}}}},
                          false);
  EXPECT_TRUE(kw.reasoning.empty());
  EXPECT_EQ(kw.prompt_tokens, off.prompt_tokens);
}

TEST_F(Reasoning, HistoryGoesBackWithoutReasoning) {
  auto history = [](const std::string& answer) {
    return json::array{{{"role", "user"}, {"content", "Is it?"}},
                       {{"role", "assistant"}, {"content", answer}},
                       {{"role", "user"}, {"content", "Sure?"}}};
  };
  const Reply with = openai({{"messages", history("<think>Long thoughts here</think>Yes")}}, false);
  const Reply without = openai({{"messages", history("Yes")}}, false);
  EXPECT_GT(with.prompt_tokens, 0);
  EXPECT_EQ(with.prompt_tokens, without.prompt_tokens);
}

TEST_F(Reasoning, HearthRunShowsTheThinkingApart) {
  const Env env = {{"HEARTH_HOME", home_.path().string()}};
  auto r = hearth::test::run_hearth({"run", "thinker", "Is it?", "--temperature", "0"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Thinking...\nSo\n...done thinking.\n\nYes"), std::string::npos) << r.out;
  r = hearth::test::run_hearth({"run", "thinker", "Is it?", "--temperature", "0", "--no-think"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("Thinking..."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("So</think>Yes"), std::string::npos) << r.out;
}

}  // namespace
