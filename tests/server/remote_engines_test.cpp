// The parts of RemoteEngines that need no network: the circuit breaker's states on a clock of
// the test's own, the OpenAI request a GenerationRequest becomes, and the reading of an SSE
// answer (split anywhere, with usage, [DONE] and error chunks).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "server/remote_engines_breaker.h"
#include "server/remote_engines_stream.h"

namespace hearth::server {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using State = CircuitBreaker::State;

struct FakeClock {
  std::chrono::steady_clock::time_point t{std::chrono::seconds(1000)};
  CircuitBreaker::Clock fn() {
    return [this] { return t; };
  }
};

TEST(CircuitBreaker, OpensAfterThreeFailuresInARowAndStaysOpenForItsCooldown) {
  FakeClock clock;
  CircuitBreaker b(3, 30s, clock.fn());
  EXPECT_EQ(b.state(), State::closed);
  EXPECT_TRUE(b.allow());
  EXPECT_FALSE(b.failure());
  EXPECT_FALSE(b.failure());
  EXPECT_FALSE(b.success());  // a success in between starts the count again
  EXPECT_EQ(b.consecutive_failures(), 0);
  EXPECT_FALSE(b.failure());
  EXPECT_FALSE(b.failure());
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(b.failure(), State::open);
  EXPECT_EQ(b.state(), State::open);
  EXPECT_FALSE(b.allow());
  clock.t += 29s;
  EXPECT_FALSE(b.allow());
  EXPECT_EQ(b.state(), State::open);
  // A request that began before it opened and fails now changes nothing.
  EXPECT_FALSE(b.failure());
  clock.t += 1s;
  EXPECT_EQ(b.state(), State::half_open);
}

TEST(CircuitBreaker, HalfOpenLetsOneTrialThroughWhichDecides) {
  FakeClock clock;
  CircuitBreaker b(3, 10s, clock.fn());
  for (int i = 0; i < 3; ++i) b.failure();
  clock.t += 10s;
  ASSERT_EQ(b.state(), State::half_open);
  EXPECT_TRUE(b.allow());   // the trial
  EXPECT_FALSE(b.allow());  // everyone else waits for it
  EXPECT_EQ(b.failure(), State::open);  // failed: another cooldown
  EXPECT_EQ(b.state(), State::open);
  clock.t += 9s;
  EXPECT_FALSE(b.allow());
  clock.t += 1s;
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(b.success(), State::closed);
  EXPECT_EQ(b.state(), State::closed);
  EXPECT_TRUE(b.allow());
  EXPECT_TRUE(b.allow());
  // Closed again: it takes three new failures to open it.
  EXPECT_FALSE(b.failure());
  EXPECT_FALSE(b.failure());
  EXPECT_EQ(b.failure(), State::open);
}

TEST(CircuitBreaker, ATrialThatNeverReportsFreesItsSlotAfterACooldown) {
  FakeClock clock;
  CircuitBreaker b(1, 5s, clock.fn());
  EXPECT_EQ(b.failure(), State::open);  // a threshold of 1
  clock.t += 5s;
  EXPECT_TRUE(b.allow());
  clock.t += 4s;
  EXPECT_FALSE(b.allow());
  clock.t += 1s;
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(to_string(State::half_open), "half-open");
}

GenerationRequest chat_request() {
  GenerationRequest r;
  r.messages = {{"system", "be brief"}, {"user", "hi"}};
  r.sampling.temperature = 0.5f;
  r.sampling.top_p = 0.9f;
  r.sampling.seed = 7;
  r.sampling.presence_penalty = 0.25f;
  r.max_tokens = 12;
  r.stop = {"\n\n"};
  r.json_object = true;
  return r;
}

TEST(RemoteCall, AChatBecomesAStreamedChatCompletion) {
  const auto call = remote_detail::remote_call(chat_request(), "llama3:8b");
  EXPECT_EQ(call.path, "/chat/completions");
  const json::value body = *parse_json(call.body);
  EXPECT_EQ(body.at("model").as_string(), "llama3:8b");
  EXPECT_EQ(body.at("stream").as_bool(), true);
  EXPECT_EQ(body.at_pointer("/stream_options/include_usage").as_bool(), true);
  ASSERT_EQ(body.at("messages").as_array().size(), 2u);
  EXPECT_EQ(body.at_pointer("/messages/0/role").as_string(), "system");
  EXPECT_EQ(body.at_pointer("/messages/1/content").as_string(), "hi");
  EXPECT_DOUBLE_EQ(body.at("temperature").as_double(), 0.5);
  EXPECT_NEAR(body.at("top_p").as_double(), 0.9, 1e-6);
  EXPECT_EQ(body.at("seed").as_int64(), 7);
  EXPECT_DOUBLE_EQ(body.at("presence_penalty").as_double(), 0.25);
  EXPECT_FALSE(body.as_object().contains("frequency_penalty"));
  EXPECT_EQ(body.at("max_tokens").as_int64(), 12);
  EXPECT_EQ(body.at_pointer("/stop/0").as_string(), "\n\n");
  EXPECT_EQ(body.at_pointer("/response_format/type").as_string(), "json_object");

  GenerationRequest schema = chat_request();
  schema.json_schema = R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})";
  const json::value with = *parse_json(remote_detail::remote_call(schema, "llama3:8b").body);
  EXPECT_EQ(with.at_pointer("/response_format/type").as_string(), "json_schema");
  EXPECT_TRUE(with.at_pointer("/response_format/json_schema/strict").as_bool());
  EXPECT_EQ(with.at_pointer("/response_format/json_schema/schema/required/0").as_string(), "n");
}

TEST(RemoteCall, APromptWithTemplateIsOneUserMessageAndRawTextACompletion) {
  GenerationRequest r;
  r.prompt = "why?";
  r.system = "sys";
  r.sampling.greedy = true;
  r.max_tokens = -1;
  auto call = remote_detail::remote_call(r, "m");
  EXPECT_EQ(call.path, "/chat/completions");
  json::value body = *parse_json(call.body);
  ASSERT_EQ(body.at("messages").as_array().size(), 2u);
  EXPECT_EQ(body.at_pointer("/messages/0/content").as_string(), "sys");
  EXPECT_EQ(body.at_pointer("/messages/1/role").as_string(), "user");
  EXPECT_EQ(body.at_pointer("/messages/1/content").as_string(), "why?");
  EXPECT_DOUBLE_EQ(body.at("temperature").as_double(), 0.0);  // greedy
  EXPECT_FALSE(body.as_object().contains("max_tokens"));
  EXPECT_FALSE(body.as_object().contains("stop"));
  EXPECT_FALSE(body.as_object().contains("response_format"));

  r.apply_template = false;
  call = remote_detail::remote_call(r, "m");
  EXPECT_EQ(call.path, "/completions");
  body = *parse_json(call.body);
  EXPECT_EQ(body.at("prompt").as_string(), "why?");
  EXPECT_FALSE(body.as_object().contains("messages"));
}

TEST(SseReader, ReadsTokensFinishAndUsageHoweverTheBytesAreSplit) {
  const std::string stream =
      ": a comment\r\n"
      "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo \\u00e9\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n"
      "data: [DONE]\n\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{7}, stream.size()}) {
    std::string text;
    remote_detail::SseReader reader([&](std::string t) { text += t; });
    for (std::size_t i = 0; i < stream.size(); i += step)
      reader.feed(std::string_view(stream).substr(i, step));
    reader.finish();
    EXPECT_EQ(text, "Hello \xc3\xa9") << "step " << step;
    EXPECT_TRUE(reader.ended());
    EXPECT_EQ(reader.finish_reason(), "length");
    EXPECT_EQ(reader.prompt_tokens(), 9);
    EXPECT_EQ(reader.completion_tokens(), 2);
    EXPECT_EQ(reader.tokens_seen(), 2);
    EXPECT_TRUE(reader.error().empty());
  }
}

TEST(SseReader, CompletionsTextAnErrorChunkAndAStreamCutShort) {
  std::string text;
  remote_detail::SseReader completions([&](std::string t) { text += t; });
  completions.feed("data: {\"choices\":[{\"text\":\"abc\",\"finish_reason\":null}]}\n");
  EXPECT_EQ(text, "abc");
  EXPECT_FALSE(completions.ended());  // cut short: no finish_reason, no [DONE]
  completions.feed("data: {\"choices\":[{\"text\":\"\",\"finish_reason\":\"stop\"}]}");
  completions.finish();  // the last line had no newline
  EXPECT_TRUE(completions.ended());
  EXPECT_EQ(completions.finish_reason(), "stop");

  remote_detail::SseReader failing([](std::string) {});
  failing.feed("data: {\"error\":{\"message\":\"out of memory\",\"code\":500}}\n\n");
  EXPECT_EQ(failing.error(), "out of memory");
  EXPECT_FALSE(failing.ended());
}

TEST(SseReader, ALineLongerThanTheLimitIsAnErrorHoweverItArrives) {
  // Found by the fuzzer: such a line arriving in small pieces was searched again for each piece.
  const std::string first = "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}\n";
  const std::string huge = "data: \"" + std::string(remote_detail::SseReader::kMaxLineBytes, 'x');
  for (const bool newline : {false, true}) {
    std::string text;
    remote_detail::SseReader reader([&](std::string t) { text += t; });
    reader.feed(first);
    for (std::size_t i = 0; i < huge.size(); i += 1024) reader.feed(std::string_view(huge).substr(i, 1024));
    if (newline) reader.feed("\"\ndata: [DONE]\n");
    reader.finish();
    EXPECT_EQ(text, "ok");
    EXPECT_NE(reader.error().find("longer than 4 MiB"), std::string::npos) << reader.error();
    EXPECT_FALSE(reader.ended());  // nothing after the long line is read
  }
  remote_detail::SseReader whole([](std::string) {});
  whole.feed(huge + "\"\n");
  EXPECT_NE(whole.error().find("longer than 4 MiB"), std::string::npos);
}

TEST(ErrorText, TheRemotesMessageOrTheStartOfItsBody) {
  EXPECT_EQ(remote_detail::error_text(R"({"error":{"message":"model 'x' not found"}})"),
            "model 'x' not found");
  EXPECT_EQ(remote_detail::error_text(R"({"error":"bad key"})"), "bad key");
  EXPECT_EQ(remote_detail::error_text(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(remote_detail::error_text("Bad Gateway\n"), "Bad Gateway");
  EXPECT_EQ(remote_detail::error_text(std::string(500, 'x')).size(), 200u);
}

}  // namespace
}  // namespace hearth::server
