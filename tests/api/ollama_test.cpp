// The Ollama requests and /api/ps's answer (api/ollama.h): what each field reads and its errors.
#include "api/ollama.h"

#include <gtest/gtest.h>

#include "api_test_util.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::api {
namespace {

using test::body;
using test::expect_error;

TEST(OllamaChatRequest, ReadsEveryField) {
  const auto r = parse_chat(body(R"({"name": "m", "stream": false, "format": "json",
      "keep_alive": 30, "options": {"temperature": 0.1, "num_gpu": 1},
      "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"},
                   {"role": "assistant"}]})"));
  EXPECT_EQ(r.model, "m");  // the older "name"
  EXPECT_FALSE(r.stream);
  EXPECT_TRUE(r.json_format);
  EXPECT_EQ(r.keep_alive, std::chrono::seconds(30));
  EXPECT_EQ(r.options.temperature, 0.1);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[2], (Message{"assistant", ""}));
  const auto plain = parse_chat(body(R"({"model": "m", "format": {"type": "object"}})"));
  EXPECT_TRUE(plain.stream);  // Ollama streams unless told not to
  EXPECT_TRUE(plain.json_format);
  EXPECT_EQ(plain.json_schema, R"({"type":"object"})") << "a schema object travels as its text";
  EXPECT_TRUE(plain.messages.empty());  // only loads the model
}

TEST(OllamaChatRequest, EachFieldsErrors) {
  auto refused = [](std::string_view text, ErrorKind kind, const std::string& message) {
    expect_error([&] { parse_chat(body(text)); }, kind, {message});
  };
  const auto bad = ErrorKind::invalid_input;
  refused(R"({"messages": []})", bad, "field 'model' is required");
  refused(R"({"model": "", "name": ""})", bad, "field 'model' is required");
  refused(R"({"model": ["m"]})", bad, "field 'model' must be a string");
  refused(R"({"model": "m", "stream": 1})", bad, "field 'stream' must be true or false");
  refused(R"({"model": "m", "format": "xml"})", bad, "field 'format' must be \"json\" or a JSON schema");
  refused(R"({"model": "m", "options": []})", bad, "field 'options' must be an object");
  refused(R"({"model": "m", "options": {"top_k": -1}})", bad, "field 'top_k' must be 0 or more");
  refused(R"({"model": "m", "keep_alive": true})", bad, "field 'keep_alive' must be a number of seconds");
  refused(R"({"model": "m", "messages": "hi"})", bad, "field 'messages' must be an array");
  refused(R"({"model": "m", "messages": [1]})", bad, "field 'messages[0]' must be an object");
  refused(R"({"model": "m", "messages": [{"content": "x"}]})", bad, "field 'role' is required");
  refused(R"({"model": "m", "messages": [{"role": "robot"}]})", bad,
          "field 'messages[0].role' must be system, user, assistant or tool (got 'robot')");
  refused(R"({"model": "m", "messages": [{"role": "user", "content": 1}]})", bad,
          "field 'content' must be a string");
  refused(R"({"model": "m", "messages": [{"role": "user", "images": ["aGk="]}]})",
          ErrorKind::unsupported, "images are not supported");
  refused(R"({"model": "m", "tools": [{}]})", bad,
          "field 'tools[0].function' must be an object with the function's name");
  refused(R"({"model": "m", "think": "maybe"})", bad, "field 'think' must be true, false");
  refused(R"({"model": "m", "logprobs": 1})", bad, "field 'logprobs' must be true or false");
  refused(R"({"model": "m", "top_logprobs": 2})", bad,
          "field 'top_logprobs' must be used only with \"logprobs\": true");
  refused(R"({"model": "m", "logprobs": true, "top_logprobs": 21})", bad,
          "field 'top_logprobs' must be between 0 and 20");
  const ChatRequest r = parse_chat(body(R"({"model": "m", "logprobs": true, "top_logprobs": 3})"));
  EXPECT_TRUE(r.logprobs);
  EXPECT_EQ(r.top_logprobs, 3);
}

TEST(OllamaGenerateRequest, ReadsPromptSystemRawAndRefusesSuffixAndImages) {
  const auto r = parse_generate(body(R"({"model": "m", "prompt": "p", "system": "s", "raw": true})"));
  EXPECT_EQ(r.prompt, "p");
  EXPECT_EQ(r.system, "s");
  EXPECT_TRUE(r.raw);
  expect_error([] { parse_generate(body(R"({"model": "m", "prompt": 1})")); }, ErrorKind::invalid_input,
               {"field 'prompt' must be a string"});
  expect_error([] { parse_generate(body(R"({"model": "m", "raw": "yes"})")); }, ErrorKind::invalid_input,
               {"field 'raw' must be true or false"});
  expect_error([] { parse_generate(body(R"({"model": "m", "suffix": "x"})")); }, ErrorKind::unsupported,
               {"field 'suffix'"});
  expect_error([] { parse_generate(body(R"({"model": "m", "images": ["x"]})")); }, ErrorKind::unsupported,
               {"field 'images'"});
}

TEST(OllamaEmbedRequest, InputPromptTruncateAndContext) {
  const auto r = parse_embed(body(R"({"model": "m", "input": ["a", "b"], "truncate": false,
                                      "options": {"num_ctx": 99999999}})"), false);
  EXPECT_EQ(r.input, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(r.truncate);
  EXPECT_EQ(r.num_ctx, 1 << 24);  // at most what a context can hold
  EXPECT_EQ(parse_embed(body(R"({"model": "m", "prompt": "one"})"), true).input,
            std::vector<std::string>{"one"});
  expect_error([] { parse_embed(body(R"({"model": "m"})"), false); }, ErrorKind::invalid_input,
               {"field 'input' is required"});
  expect_error([] { parse_embed(body(R"({"model": "m", "input": "a"})"), true); }, ErrorKind::invalid_input,
               {"field 'prompt' is required"});
  expect_error([] { parse_embed(body(R"({"model": "m", "input": [""]})"), false); },
               ErrorKind::invalid_input, {"must not contain empty strings"});
  expect_error([] { parse_embed(body(R"({"model": "m", "input": "a", "options": {"num_ctx": 0}})"), false); },
               ErrorKind::invalid_input, {"field 'num_ctx' must be at least 1"});
  expect_error([] { parse_embed(body(R"({"input": "a"})"), false); }, ErrorKind::invalid_input,
               {"field 'model' is required"});
}

TEST(KeepAlive, NumbersAndDurations) {
  using std::chrono::milliseconds;
  EXPECT_EQ(parse_keep_alive(boost::json::value("5m")), milliseconds(300'000));
  EXPECT_EQ(parse_keep_alive(boost::json::value("1h30m")), milliseconds(5'400'000));
  EXPECT_EQ(parse_keep_alive(boost::json::value("10s")), milliseconds(10'000));
  EXPECT_EQ(parse_keep_alive(boost::json::value("250ms")), milliseconds(250));
  EXPECT_EQ(parse_keep_alive(boost::json::value("0")), milliseconds(0));
  EXPECT_EQ(parse_keep_alive(boost::json::value(0)), milliseconds(0));
  EXPECT_EQ(parse_keep_alive(boost::json::value(30)), milliseconds(30'000));
  EXPECT_LT(parse_keep_alive(boost::json::value(-1)).count(), 0);
  EXPECT_LT(parse_keep_alive(boost::json::value("-1")).count(), 0);
  EXPECT_LT(parse_keep_alive(boost::json::value("-1m")).count(), 0);
  for (const char* bad : {"", "soon", "5x", "m"})
    EXPECT_THROW(parse_keep_alive(boost::json::value(bad)), Error) << bad;
  // Longer than a clock can hold is forever, never an overflow into "unload now".
  EXPECT_LT(parse_keep_alive(boost::json::value("1e400")).count(), 0);
  EXPECT_LT(parse_keep_alive(boost::json::value("1e13h")).count(), 0);
  EXPECT_LT(parse_keep_alive(boost::json::value(1e300)).count(), 0);
  EXPECT_LT(parse_keep_alive(boost::json::value(std::int64_t{9'223'372'036'854'775'807})).count(), 0);
  EXPECT_EQ(parse_keep_alive(boost::json::value(86'400)), milliseconds(86'400'000));
  EXPECT_THROW(parse_keep_alive(boost::json::value(true)), Error);
  EXPECT_EQ(parse_keep_alive(boost::json::value(1.5)), milliseconds(1500));
  expect_error([] { parse_keep_alive(boost::json::value("later")); }, ErrorKind::invalid_input,
               {"field 'keep_alive'", "(got 'later')"});
}

TEST(RunningModels, WhatTheServerWritesTheClientReadsBack) {
  RunningModel m{.name = "fast:q8_0", .size = 123456, .digest = "ab12",
                 .details = {.parent_model = "", .format = "gguf", .family = "llama",
                             .families = {"llama"}, .parameter_size = "1.2B",
                             .quantization_level = "Q8_0"},
                 .expires_at = "2026-12-06T19:00:00.000000000Z", .size_vram = 0,
                 .context_length = 4096};
  const boost::json::object written = running_models_json({m});
  EXPECT_EQ(written.at("models").at(0).at("model"), "fast:q8_0");
  EXPECT_EQ(read_running_models(written), std::vector<RunningModel>{m});
  // No families is written as null, as Ollama does, and read back as none.
  m.details.families.clear();
  const auto back = read_running_models(running_models_json({m}));
  EXPECT_TRUE(running_models_json({m}).at("models").at(0).at("details").at("families").is_null());
  EXPECT_EQ(back, std::vector<RunningModel>{m});
}

TEST(RunningModels, ABrokenAnswerSaysWhatIsWrong) {
  expect_error([] { read_running_models(test::json_from("[]")); }, ErrorKind::corrupt_file,
               {"GET /api/ps answered", "not a JSON object"});
  expect_error([] { read_running_models(test::json_from(R"({"models": [{"size": 1}]})")); },
               ErrorKind::corrupt_file, {"field 'model' is required"});
  expect_error([] { read_running_models(test::json_from(R"({"models": [{"model": "m", "size": -4}]})")); },
               ErrorKind::corrupt_file, {"field 'size' must be 0 or more"});
  expect_error([] { read_running_models(test::json_from(R"({"models": [{"model": "m", "size": "big"}]})")); },
               ErrorKind::corrupt_file, {"field 'size' must be an integer"});
  EXPECT_TRUE(read_running_models(test::json_from("{}")).empty());
}

}  // namespace
}  // namespace hearth::api

namespace hearth::api {
namespace {

TEST(UnsupportedFields, OllamaRefusesTemplatesContextAndOtherSamplers) {
  auto parse = [](const std::string& text) { return boost::json::parse(text).as_object(); };
  EXPECT_THROW(parse_generate(parse(R"({"model": "m", "prompt": "p", "template": "{{ .Prompt }}"})")), Error);
  EXPECT_THROW(parse_generate(parse(R"({"model": "m", "prompt": "p", "context": [1, 2]})")), Error);
  EXPECT_THROW(parse_chat(parse(R"({"model": "m", "options": {"mirostat": 2}})")), Error);
  EXPECT_THROW(parse_chat(parse(R"({"model": "m", "options": {"typical_p": 0.5}})")), Error);
  // Neutral values and performance knobs are fine.
  EXPECT_NO_THROW(parse_chat(parse(
      R"({"model": "m", "options": {"mirostat": 0, "typical_p": 1, "tfs_z": 1, "num_gpu": 99, "num_thread": 4}})")));
}

}  // namespace
}  // namespace hearth::api
