// The Ollama API's requests and the answers the CLI reads back: POST /api/chat, /api/generate,
// /api/embed, /api/embeddings (requests) and GET /api/ps (answer, written by the server and read
// by `hearth ps`). parse_* checks every field it reads and throws Error(invalid_input) naming the
// field, or Error(unsupported) for what hearth does not do (images, suffix); unknown fields are
// ignored, as Ollama does.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/openai.h"  // Message
#include "api/options.h"

namespace hearth::api {

// Ollama's keep_alive: a number of seconds or a duration text ("5m", "1h30m", "10s", "500ms",
// "-1"); negative (or longer than a clock holds) is -1 ms, forever. Error(invalid_input) otherwise.
std::chrono::milliseconds parse_keep_alive(const boost::json::value& value);
std::optional<std::chrono::milliseconds> opt_keep_alive(const boost::json::object& body);

// What chat and generate share.
struct OllamaGeneration {
  std::string model;  // "model", or the older "name"
  bool stream = true;
  Options options;
  bool json_format = false;  // format "json" or a JSON schema object
  std::string json_schema;   // format as a JSON schema object: its JSON text (else empty)
  std::optional<std::chrono::milliseconds> keep_alive;
  bool logprobs = false;  // "logprobs": each token's log-probability in the answer
  int top_logprobs = 0;   // "top_logprobs" 0..20 (needs logprobs): alternatives per token
};

struct ChatRequest : OllamaGeneration {
  std::vector<Message> messages;  // none: only load (or unload) the model
  chat::ChatOptions chat;         // tools and think (api/tools.h)
};

struct GenerateRequest : OllamaGeneration {
  std::string prompt;  // empty: only load (or unload) the model
  std::string system;
  bool raw = false;  // the prompt as it is, without the chat template
  chat::ChatOptions chat;  // think
};

struct EmbedRequest {
  std::string model;
  std::vector<std::string> input;  // /api/embed's "input", or /api/embeddings' one "prompt"
  bool truncate = true;
  std::optional<std::int64_t> num_ctx;  // options.num_ctx, at most 16777216
  std::optional<std::chrono::milliseconds> keep_alive;
};

// "model", or the older "name"; Error(invalid_input) "field 'model' is required" without either.
std::string model_field(const boost::json::object& body);

ChatRequest parse_chat(const boost::json::object& body);
GenerateRequest parse_generate(const boost::json::object& body);
// legacy: /api/embeddings (one "prompt") rather than /api/embed ("input": a string or a list).
EmbedRequest parse_embed(const boost::json::object& body, bool legacy);

// GET /api/ps and /api/tags: a model's "details".
struct ModelDetails {
  std::string parent_model;
  std::string format = "gguf";
  std::string family;
  std::vector<std::string> families;  // written as null when empty
  std::string parameter_size;
  std::string quantization_level;
  bool operator==(const ModelDetails&) const = default;
};

// GET /api/ps: one loaded model under one of the caller's names.
struct RunningModel {
  std::string name;  // name:tag ("model" carries it too)
  std::uint64_t size = 0;       // bytes in memory
  std::string digest;           // hex, no "sha256:"
  ModelDetails details;
  std::string expires_at;       // RFC 3339
  std::uint64_t size_vram = 0;  // bytes on a GPU
  std::int64_t context_length = 0;
  bool operator==(const RunningModel&) const = default;
};

boost::json::object to_json(const ModelDetails& details);
boost::json::object to_json(const RunningModel& model);
// {"models": [...]}
boost::json::object running_models_json(const std::vector<RunningModel>& models);
// Reads /api/ps's answer; Error(corrupt_file) naming what is missing or of the wrong type.
std::vector<RunningModel> read_running_models(const boost::json::value& answer);

}  // namespace hearth::api
