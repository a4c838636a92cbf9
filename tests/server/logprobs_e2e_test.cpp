// Logprobs and several choices through the real `hearth serve` on a tiny conformance model: the
// logprobs of /v1/completions and /api/generate equal `hearth logits` after a log-softmax for the
// same raw prompt; `n` choices come back together (streamed and not), each reproducible alone
// with its own seed; bad combinations are 400s naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <sstream>

#include "engine/tokenizer/utf8.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpResult;
using hearth::test::json_from;
using hearth::test::ServerProcess;
namespace json = boost::json;

constexpr const char* kPrompt = "the quick brown fox";

class Logprobs : public ::testing::Test {
 protected:
  void SetUp() override {
    HEARTH_REQUIRE_CONFORMANCE(dir);
    model_ = dir / "models" / "llama3-f16.gguf";
    ASSERT_TRUE(std::filesystem::exists(model_)) << model_;
    const auto r = hearth::test::run_hearth({"pull", model_.string(), "--name", "tiny"},
                                            {{"HEARTH_HOME", home_.path().string()}});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    server_ = std::make_unique<ServerProcess>(home_.path(), std::vector<std::string>{},
                                              hearth::test::Env{{"HEARTH_NUM_PARALLEL", "3"},
                                                                {"HEARTH_KV_CACHE", "f32"}});
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }
  HttpResult post(const std::string& path, const json::value& body) {
    const std::string text = hearth::format_json(body);
    return http("POST", server_->url(path), &text);
  }
  // The log-softmax of the prompt's last logits as `hearth logits` writes them.
  std::vector<double> reference() {
    const auto out = home_.path() / "logits.f32";
    const auto r = hearth::test::run_hearth(
        {"logits", model_.string(), "--prompt", kPrompt, "--out", out.string()},
        {{"HEARTH_HOME", home_.path().string()}});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string bytes = hearth::test::read_file(out);
    std::vector<float> row(bytes.size() / sizeof(float));
    std::memcpy(row.data(), bytes.data(), row.size() * sizeof(float));
    double max = -INFINITY, sum = 0;
    for (float x : row) max = std::max(max, static_cast<double>(x));
    for (float x : row) sum += std::exp(x - max);
    std::vector<double> lp;
    for (float x : row) lp.push_back(x - max - std::log(sum));
    return lp;
  }

  hearth::test::TempDir home_;
  std::filesystem::path model_;
  std::unique_ptr<ServerProcess> server_;
};

std::vector<double> top_values(std::vector<double> v, size_t k) {
  std::sort(v.begin(), v.end(), std::greater<>());
  v.resize(k);
  return v;
}

TEST_F(Logprobs, CompletionsAndGenerateMatchHearthLogits) {
  const std::vector<double> want = top_values(reference(), 5);
  const HttpResult r = post("/v1/completions", {{"model", "tiny"},
                                                {"prompt", kPrompt},
                                                {"max_tokens", 3},
                                                {"temperature", 0},
                                                {"logprobs", 5}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value body = json_from(r.body);
  const json::value& lp = body.at_pointer("/choices/0/logprobs");
  ASSERT_EQ(lp.at("tokens").as_array().size(), 3u) << lp;
  ASSERT_EQ(lp.at("text_offset").as_array().size(), 3u) << lp;
  EXPECT_EQ(lp.at("text_offset").as_array()[0].as_int64(), 0);
  // Greedy: the chosen token is the most likely one.
  EXPECT_NEAR(lp.at("token_logprobs").as_array()[0].to_number<double>(), want[0], 1e-4) << lp;
  std::vector<double> got;
  for (const auto& [text, value] : lp.at("top_logprobs").as_array()[0].as_object())
    got.push_back(value.to_number<double>());
  got = top_values(got, got.size());
  ASSERT_GE(got.size(), 4u) << lp;  // two alternatives may show as the same text
  for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], want[k], 1e-4) << "rank " << k;
  // The offsets follow the text.
  std::string text;
  for (const auto& t : lp.at("tokens").as_array()) text += json::value_to<std::string>(t);
  EXPECT_EQ(text, json::value_to<std::string>(body.at_pointer("/choices/0/text")));

  // Ollama's raw generate: the same numbers, with each token's exact bytes.
  const HttpResult g = post("/api/generate", {{"model", "tiny"},
                                              {"prompt", kPrompt},
                                              {"raw", true},
                                              {"stream", false},
                                              {"logprobs", true},
                                              {"top_logprobs", 5},
                                              {"options", {{"temperature", 0}, {"num_predict", 2}}}});
  ASSERT_EQ(g.status, 200) << g.body;
  const json::value answer = json_from(g.body);
  const json::array& entries = answer.at("logprobs").as_array();
  ASSERT_EQ(entries.size(), 2u) << answer;
  const json::array& top = entries[0].at("top_logprobs").as_array();
  ASSERT_EQ(top.size(), 5u);
  for (size_t k = 0; k < 5; ++k)
    EXPECT_NEAR(top[k].at("logprob").to_number<double>(), want[k], 1e-4) << "rank " << k;
  EXPECT_EQ(entries[0].at("token"), top[0].at("token"));
  // The bytes are exact where the text cannot be: a character cut by num_predict shows as
  // U+FFFD in the response, its bytes stay the token's.
  std::string bytes;
  for (const auto& e : entries)
    for (const auto& b : e.at("bytes").as_array()) bytes += static_cast<char>(b.as_int64());
  EXPECT_EQ(hearth::tokenizer::utf8::sanitize(bytes),
            json::value_to<std::string>(answer.at("response")));
}

TEST_F(Logprobs, ChoicesComeTogetherAndEachRepeatsAloneWithItsSeed) {
  const json::object ask{{"model", "tiny"},
                         {"messages", {{{"role", "user"}, {"content", "tell me a story"}}}},
                         {"max_tokens", 6},
                         {"temperature", 1.5},
                         {"seed", 40},
                         {"logprobs", true},
                         {"top_logprobs", 2}};
  json::object three = ask;
  three["n"] = 3;
  const HttpResult r = post("/v1/chat/completions", three);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value body = json_from(r.body);
  const json::array& choices = body.at("choices").as_array();
  ASSERT_EQ(choices.size(), 3u) << body;
  int completion = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(choices[i].at("index").as_int64(), static_cast<std::int64_t>(i));
    const json::array& content = choices[i].at_pointer("/logprobs/content").as_array();
    completion += static_cast<int>(content.size());
    EXPECT_EQ(content.at(0).at("top_logprobs").as_array().size(), 2u);
    // Choice i alone, with seed 40 + i: the same answer.
    json::object alone = ask;
    alone["seed"] = 40 + static_cast<int>(i);
    const HttpResult one = post("/v1/chat/completions", alone);
    ASSERT_EQ(one.status, 200) << one.body;
    const json::value single = json_from(one.body);
    EXPECT_EQ(single.at_pointer("/choices/0/message/content"),
              choices[i].at_pointer("/message/content"))
        << "choice " << i;
    EXPECT_EQ(single.at_pointer("/choices/0/logprobs"), choices[i].at("logprobs"));
  }
  EXPECT_EQ(body.at_pointer("/usage/completion_tokens").to_number<int>(), completion);
  // The kept conversation goes on with the first choice.
  const auto conversation = body.at_pointer("/hearth/conversation_id").to_number<std::int64_t>();
  const HttpResult kept =
      http("GET", server_->url("/api/conversations/" + std::to_string(conversation)));
  ASSERT_EQ(kept.status, 200) << kept.body;
  const json::value conversation_json = json_from(kept.body);
  const json::array& history = conversation_json.at("messages").as_array();
  ASSERT_EQ(history.size(), 2u) << kept.body;
  EXPECT_EQ(history[1].at("content"), choices[0].at_pointer("/message/content")) << kept.body;

  // Streamed: every chunk names its choice, every choice ends, [DONE] once, usage once.
  three["stream"] = true;
  three["stream_options"] = {{"include_usage", true}};
  const HttpResult s = post("/v1/chat/completions", three);
  ASSERT_EQ(s.status, 200) << s.body;
  std::map<std::int64_t, std::string> text;
  std::map<std::int64_t, std::string> finish;
  std::map<std::int64_t, size_t> tokens;
  int done = 0, usage = 0;
  std::istringstream in(s.body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    if (line == "data: [DONE]") {
      ++done;
      continue;
    }
    const json::value chunk = json_from(line.substr(6));
    if (!chunk.at("usage").is_null()) {
      ++usage;
      EXPECT_EQ(chunk.at_pointer("/usage/completion_tokens").to_number<int>(), completion);
    }
    for (const auto& c : chunk.at("choices").as_array()) {
      const std::int64_t i = c.at("index").as_int64();
      if (const auto* content = c.at("delta").as_object().if_contains("content"))
        text[i] += json::value_to<std::string>(*content);
      if (!c.at("finish_reason").is_null()) finish[i] = json::value_to<std::string>(c.at("finish_reason"));
      if (!c.at("logprobs").is_null()) tokens[i] += c.at_pointer("/logprobs/content").as_array().size();
    }
  }
  EXPECT_EQ(done, 1);
  EXPECT_EQ(usage, 1);
  ASSERT_EQ(finish.size(), 3u) << s.body;
  for (std::int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(text[i], json::value_to<std::string>(choices[static_cast<size_t>(i)].at_pointer("/message/content")));
    EXPECT_EQ(tokens[i], choices[static_cast<size_t>(i)].at_pointer("/logprobs/content").as_array().size());
  }
}

TEST_F(Logprobs, BadCombinationsAreRefusedNamingTheField) {
  const json::array messages{{{"role", "user"}, {"content", "hi"}}};
  auto expect_400 = [&](const std::string& path, const json::object& body, const std::string& field) {
    const HttpResult r = post(path, body);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find(field), std::string::npos) << r.body;
  };
  expect_400("/v1/chat/completions", {{"model", "tiny"}, {"messages", messages}, {"n", 4}},
             "'n' must be between 1 and 3");
  expect_400("/v1/chat/completions", {{"model", "tiny"}, {"messages", messages}, {"n", 0}}, "'n'");
  expect_400("/v1/chat/completions",
             {{"model", "tiny"}, {"messages", messages}, {"top_logprobs", 2}}, "'top_logprobs'");
  expect_400("/v1/chat/completions",
             {{"model", "tiny"}, {"messages", messages}, {"logprobs", true}, {"top_logprobs", 21}},
             "'top_logprobs'");
  expect_400("/v1/completions", {{"model", "tiny"}, {"prompt", "hi"}, {"logprobs", 6}}, "'logprobs'");
  expect_400("/api/chat", {{"model", "tiny"}, {"messages", messages}, {"top_logprobs", 3}},
             "'top_logprobs'");
}

}  // namespace
