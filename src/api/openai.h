// The OpenAI API's requests as hearth reads them: POST /v1/chat/completions, /v1/completions and
// /v1/embeddings. Each parse_* checks every field it reads and throws Error(invalid_input) naming
// the field ("field 'temperature' must be between 0 and 2"), or Error(unsupported) for what hearth
// does not do (tools, image parts, suffix, echo, dimensions). Unknown fields are ignored,
// as OpenAI's clients send fields of newer API versions.
//
// Absent sampling fields stay unset here; the server applies OpenAI's defaults (temperature 1,
// top_p 1, no penalties: server/routes_openai.cpp).
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/chat/tools.h"

namespace hearth::api {

// A chat message: role system, user, assistant or tool ("developer" is read as system), with an
// assistant's tool calls and a tool result's call id (engine/chat/chat_template.h).
using Message = chat::ChatMessage;

// What chat and text completions share.
struct OpenAiGeneration {
  std::string model;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  std::optional<double> temperature;        // 0..2
  std::optional<double> top_p;              // 0..1
  std::optional<double> presence_penalty;   // -2..2
  std::optional<double> frequency_penalty;  // -2..2
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> max_tokens;  // >= 1; max_completion_tokens wins when both are given
  std::vector<std::string> stop;           // at most 4
  bool json_object = false;                // response_format json_object or json_schema
  std::string json_schema;  // response_format json_schema: json_schema.schema's JSON text
  std::optional<std::chrono::milliseconds> keep_alive;  // hearth's extension (Ollama's field)
  int n = 1;  // choices, >= 1 (the server caps it at its HEARTH_NUM_PARALLEL)
  // Chat: `logprobs` true and `top_logprobs` 0..20 (which needs logprobs). Completions:
  // `logprobs` 0..5 is how many alternatives, and asks for logprobs.
  bool logprobs = false;
  int top_logprobs = 0;
};

struct ChatCompletionRequest : OpenAiGeneration {
  std::vector<Message> messages;  // at least one
  chat::ChatOptions chat;         // tools, tool_choice, chat_template_kwargs.enable_thinking
};

struct CompletionRequest : OpenAiGeneration {
  std::string prompt;  // one string (or an array of one)
};

struct EmbeddingsRequest {
  std::string model;
  std::vector<std::string> input;  // at least one, none empty
  bool base64 = false;             // encoding_format "base64" (else "float")
  std::optional<std::chrono::milliseconds> keep_alive;
};

ChatCompletionRequest parse_chat_completion(const boost::json::object& body);
CompletionRequest parse_completion(const boost::json::object& body);
EmbeddingsRequest parse_embeddings(const boost::json::object& body);



}  // namespace hearth::api
