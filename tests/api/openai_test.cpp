// The OpenAI requests (api/openai.h): what each field reads and each field's errors.
#include "api/openai.h"

#include <gtest/gtest.h>

#include "api_test_util.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::api {
namespace {

using test::body;
using test::expect_error;

constexpr const char* kChat = R"({"model": "m", "messages": [{"role": "user", "content": "hi"}]})";

// kChat with more fields: with(R"("temperature": 3)").
std::string with(std::string_view fields) {
  std::string text = kChat;
  text.pop_back();
  return text + ", " + std::string(fields) + "}";
}

void expect_chat_error(std::string_view text, ErrorKind kind, const std::string& message) {
  expect_error([&] { parse_chat_completion(body(text)); }, kind, {message});
}

TEST(OpenAiChatRequest, ReadsEveryField) {
  const auto r = parse_chat_completion(body(with(R"(
      "stream": true, "stream_options": {"include_usage": true}, "n": 1, "temperature": 0.5,
      "top_p": 0.25, "presence_penalty": -2, "frequency_penalty": 1.5, "seed": 9,
      "max_tokens": 10, "max_completion_tokens": 20, "stop": ["a", "b"],
      "response_format": {"type": "json_object"}, "keep_alive": "5m", "tools": [],
      "some_newer_field": {"x": 1})")));
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0], (Message{"user", "hi"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_EQ(r.temperature, 0.5);
  EXPECT_EQ(r.top_p, 0.25);
  EXPECT_EQ(r.presence_penalty, -2.0);
  EXPECT_EQ(r.frequency_penalty, 1.5);
  EXPECT_EQ(r.seed, 9);
  EXPECT_EQ(r.max_tokens, 20);  // max_completion_tokens is the newer name and wins
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.json_object);
  EXPECT_EQ(r.keep_alive, std::chrono::minutes(5));
}

TEST(OpenAiRequests, ReadChoicesAndLogprobs) {
  const auto chat = parse_chat_completion(
      body(with(R"("n": 3, "logprobs": true, "top_logprobs": 4)")));
  EXPECT_EQ(chat.n, 3);
  EXPECT_TRUE(chat.logprobs);
  EXPECT_EQ(chat.top_logprobs, 4);
  const auto plain = parse_chat_completion(body(kChat));
  EXPECT_EQ(plain.n, 1);
  EXPECT_FALSE(plain.logprobs);
  // Completions: an integer of alternatives asks for logprobs, 0 included.
  const auto text = parse_completion(body(R"({"model": "m", "prompt": "x", "logprobs": 0})"));
  EXPECT_TRUE(text.logprobs);
  EXPECT_EQ(text.top_logprobs, 0);
  EXPECT_FALSE(parse_completion(body(R"({"model": "m", "prompt": "x", "logprobs": null})")).logprobs);
}

TEST(OpenAiChatRequest, AbsentFieldsStayUnset) {
  const auto r = parse_chat_completion(body(kChat));
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.temperature || r.top_p || r.seed || r.max_tokens || r.keep_alive);
  EXPECT_TRUE(r.stop.empty());
  EXPECT_FALSE(r.json_object);
}

TEST(OpenAiChatRequest, ResponseFormatJsonSchema) {
  const auto r = parse_chat_completion(body(with(R"("response_format": {"type": "json_schema",
      "json_schema": {"name": "person_1", "strict": true, "description": "a person",
      "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}})")));
  EXPECT_TRUE(r.json_object);
  EXPECT_EQ(r.json_schema, R"({"type":"object","properties":{"a":{"type":"string"}}})");
  const auto no_schema = parse_chat_completion(
      body(with(R"("response_format": {"type": "json_schema", "json_schema": {"name": "x"}})")));
  EXPECT_TRUE(no_schema.json_object);
  EXPECT_TRUE(no_schema.json_schema.empty()) << "no schema: any JSON object";
  expect_chat_error(with(R"("response_format": {"type": "json_schema"})"),
                    ErrorKind::invalid_input, "field 'response_format.json_schema' must be");
  expect_chat_error(
      with(R"("response_format": {"type": "json_schema", "json_schema": {"name": "a b"}})"),
      ErrorKind::invalid_input, "field 'response_format.json_schema.name' must be");
  expect_chat_error(with(R"("response_format": {"type": "json_schema",
      "json_schema": {"name": "a", "schema": "x"}})"),
                    ErrorKind::invalid_input, "field 'response_format.json_schema.schema' must be");
  expect_chat_error(with(R"("response_format": {"type": "json_schema",
      "json_schema": {"name": "a", "strict": 1, "schema": {}}})"),
                    ErrorKind::invalid_input, "field 'response_format.json_schema.strict' must be");
}

TEST(OpenAiChatRequest, MessagesJoinTextPartsAndReadDeveloperAsSystem) {
  const auto r = parse_chat_completion(body(R"({"model": "m", "messages": [
      {"role": "developer", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": null}]})"));
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0], (Message{"system", "be brief"}));
  EXPECT_EQ(r.messages[1], (Message{"user", "ab"}));
  EXPECT_EQ(r.messages[2], (Message{"assistant", ""}));
}

TEST(OpenAiChatRequest, MissingOrWrongModelAndMessages) {
  expect_chat_error(R"({"messages": [{"role": "user", "content": "hi"}]})", ErrorKind::invalid_input,
                    "field 'model' is required");
  expect_chat_error(R"({"model": "", "messages": []})", ErrorKind::invalid_input, "field 'model' is required");
  expect_chat_error(R"({"model": 3})", ErrorKind::invalid_input, "field 'model' must be a string");
  expect_chat_error(R"({"model": "m"})", ErrorKind::invalid_input,
                    "field 'messages' is required and must not be empty");
  expect_chat_error(R"({"model": "m", "messages": []})", ErrorKind::invalid_input,
                    "field 'messages' is required and must not be empty");
  expect_chat_error(R"({"model": "m", "messages": {}})", ErrorKind::invalid_input,
                    "field 'messages' must be an array");
  expect_chat_error(R"({"model": "m", "messages": ["hi"]})", ErrorKind::invalid_input,
                    "field 'messages[0]' must be an object");
  expect_chat_error(R"({"model": "m", "messages": [{"content": "hi"}]})", ErrorKind::invalid_input,
                    "field 'role' is required");
  expect_chat_error(R"({"model": "m", "messages": [{"role": "user"}, {"role": "robot"}]})",
                    ErrorKind::invalid_input,
                    "field 'messages[1].role' must be system, developer, user, assistant or tool");
  expect_chat_error(R"({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{nope"}}]}]})",
                    ErrorKind::invalid_input,
                    "field 'messages[0].tool_calls[0].function.arguments' must be the JSON text of an object");
  expect_chat_error(R"({"model": "m", "messages": [{"role": "user", "content": 5}]})",
                    ErrorKind::invalid_input,
                    "field 'messages[0].content' must be a string or an array of parts");
  expect_chat_error(R"({"model": "m", "messages": [{"role": "user", "content": ["x"]}]})",
                    ErrorKind::invalid_input, "field 'messages[0].content' parts must be objects");
  expect_chat_error(
      R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]})",
      ErrorKind::unsupported, "content of type 'image_url' is not supported");
}

TEST(OpenAiChatRequest, EachSamplingFieldOfTheWrongTypeOrOutOfRange) {
  const auto bad = ErrorKind::invalid_input;
  expect_chat_error(with(R"("stream": "yes")"), bad, "field 'stream' must be true or false");
  expect_chat_error(with(R"("stream_options": 1)"), bad, "field 'stream_options' must be an object");
  expect_chat_error(with(R"("stream_options": {"include_usage": 1})"), bad,
                    "field 'include_usage' must be true or false");
  expect_chat_error(with(R"("n": 0)"), bad, "field 'n' must be between 1 and");
  expect_chat_error(with(R"("logprobs": 1)"), bad, "field 'logprobs' must be true or false");
  expect_chat_error(with(R"("top_logprobs": 2)"), bad,
                    "field 'top_logprobs' must be used only with \"logprobs\": true");
  expect_chat_error(with(R"("logprobs": true, "top_logprobs": 21)"), bad,
                    "field 'top_logprobs' must be between 0 and 20");
  expect_chat_error(with(R"("temperature": "warm")"), bad, "field 'temperature' must be a number");
  expect_chat_error(with(R"("temperature": 2.5)"), bad, "field 'temperature' must be between 0 and 2");
  expect_chat_error(with(R"("top_p": -0.1)"), bad, "field 'top_p' must be between 0 and 1");
  expect_chat_error(with(R"("presence_penalty": 3)"), bad,
                    "field 'presence_penalty' must be between -2 and 2");
  expect_chat_error(with(R"("frequency_penalty": -2.5)"), bad,
                    "field 'frequency_penalty' must be between -2 and 2");
  expect_chat_error(with(R"("seed": 1.5)"), bad, "field 'seed' must be an integer");
  expect_chat_error(with(R"("max_tokens": 0)"), bad, "field 'max_tokens' must be at least 1");
  expect_chat_error(with(R"("max_completion_tokens": "9")"), bad,
                    "field 'max_completion_tokens' must be an integer");
  expect_chat_error(with(R"("stop": ["a", "b", "c", "d", "e"])"), bad,
                    "field 'stop' may hold at most 4 sequences");
  expect_chat_error(with(R"("stop": 1)"), bad, "field 'stop' must be a string or an array of strings");
  expect_chat_error(with(R"("response_format": {"type": "xml"})"), bad,
                    "field 'response_format.type' must be text, json_object or json_schema");
  expect_chat_error(with(R"("keep_alive": "soon")"), bad, "field 'keep_alive' must be a number of seconds");
  expect_chat_error(with(R"("tools": [{"type": "function"}])"), bad,
                    "field 'tools[0].function' must be an object with the function's name");
  expect_chat_error(with(R"("tools": [{"type": "code_interpreter"}])"), ErrorKind::unsupported,
                    "field 'tools[0].type': tools of type 'code_interpreter' are not supported");
  expect_chat_error(with(R"("tool_choice": "required")"), bad, "field 'tool_choice' must be");
}

TEST(OpenAiCompletionRequest, OnePromptAndNoSuffixOrEcho) {
  const auto r = parse_completion(body(R"({"model": "m", "prompt": ["once"], "max_tokens": 3})"));
  EXPECT_EQ(r.prompt, "once");
  EXPECT_EQ(r.max_tokens, 3);
  for (const char* text : {R"({"model": "m"})", R"({"model": "m", "prompt": ["a", "b"]})",
                           R"({"model": "m", "prompt": 7})"})
    expect_error([&] { parse_completion(body(text)); }, ErrorKind::invalid_input,
                 {"field 'prompt' must be"});
  expect_error([] { parse_completion(body(R"({"prompt": "x"})")); }, ErrorKind::invalid_input,
               {"field 'model' is required"});
  expect_error([] { parse_completion(body(R"({"model": "m", "prompt": "x", "suffix": "y"})")); },
               ErrorKind::unsupported, {"field 'suffix' is not supported"});
  expect_error([] { parse_completion(body(R"({"model": "m", "prompt": "x", "echo": true})")); },
               ErrorKind::unsupported, {"field 'echo' is not supported"});
}

TEST(OpenAiEmbeddingsRequest, InputsFormatAndDimensions) {
  const auto r = parse_embeddings(body(R"({"model": "m", "input": ["a", "b"], "encoding_format": "base64"})"));
  EXPECT_EQ(r.input, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r.base64);
  EXPECT_FALSE(parse_embeddings(body(R"({"model": "m", "input": "a"})")).base64);
  auto refused = [](std::string_view text, ErrorKind kind, const std::string& message) {
    expect_error([&] { parse_embeddings(body(text)); }, kind, {message});
  };
  refused(R"({"input": "a"})", ErrorKind::invalid_input, "field 'model' is required");
  refused(R"({"model": "m"})", ErrorKind::invalid_input, "field 'input' is required");
  refused(R"({"model": "m", "input": []})", ErrorKind::invalid_input, "field 'input' is required");
  refused(R"({"model": "m", "input": [[1, 2]]})", ErrorKind::invalid_input,
          "field 'input' must be a string or an array of strings");
  refused(R"({"model": "m", "input": ["a", ""]})", ErrorKind::invalid_input,
          "field 'input' must not contain empty strings");
  refused(R"({"model": "m", "input": "a", "encoding_format": "hex"})", ErrorKind::invalid_input,
          "field 'encoding_format' must be float or base64");
  refused(R"({"model": "m", "input": "a", "dimensions": 8})", ErrorKind::unsupported,
          "field 'dimensions' is not supported");
}

}  // namespace
}  // namespace hearth::api

namespace hearth::api {
namespace {

// Fields that would change the answer if ignored are refused, naming the field; service knobs
// are ignored.
TEST(UnsupportedFields, RefusedWhereIgnoringWouldChangeTheAnswer) {
  auto chat = [](const std::string& extra) {
    return boost::json::parse(R"({"model": "m", "messages": [{"role": "user", "content": "hi"}], )" +
                              extra + "}")
        .as_object();
  };
  for (const auto& [extra, field] : std::vector<std::pair<std::string, std::string>>{
           {R"("logit_bias": {"42": 5})", "logit_bias"},
           {R"("modalities": ["text", "audio"])", "modalities"},
           {R"("audio": {"voice": "alloy"})", "audio"},
           {R"("web_search_options": {"search_context_size": "low"})", "web_search_options"}}) {
    try {
      parse_chat_completion(chat(extra));
      ADD_FAILURE() << extra << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::unsupported) << extra;
      EXPECT_NE(std::string(e.what()).find("field '" + field + "'"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(parse_chat_completion(chat(
      R"("logit_bias": {}, "modalities": ["text"], "user": "u", "store": false, "metadata": {"a": "b"},
         "service_tier": "auto", "prompt_cache_key": "k", "reasoning_effort": "low",
         "parallel_tool_calls": true, "prediction": {"type": "content", "content": "x"})")));
  EXPECT_THROW(parse_completion(boost::json::parse(R"({"model": "m", "prompt": "p", "best_of": 3})")
                                    .as_object()),
               Error);
}

}  // namespace
}  // namespace hearth::api
