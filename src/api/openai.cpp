// See openai.h.
#include "api/openai.h"

#include "api/fields.h"
#include "api/ollama.h"  // opt_keep_alive
#include "core/error.h"

namespace hearth::api {
namespace {

OpenAiGeneration read_generation(const json::object& body) {
  OpenAiGeneration g;
  g.model = req_string(body, "model");
  g.stream = opt_bool(body, "stream").value_or(false);
  if (const auto* so = opt_object(body, "stream_options"))
    g.include_usage = opt_bool(*so, "include_usage").value_or(false);
  if (auto n = opt_int(body, "n")) {
    if (*n < 1 || *n > 1024) bad_field("n", "between 1 and the server's HEARTH_NUM_PARALLEL");
    g.n = static_cast<int>(*n);
  }
  g.temperature = opt_number_in(body, "temperature", 0, 2);
  g.top_p = opt_number_in(body, "top_p", 0, 1);
  g.presence_penalty = opt_number_in(body, "presence_penalty", -2, 2);
  g.frequency_penalty = opt_number_in(body, "frequency_penalty", -2, 2);
  g.seed = opt_int(body, "seed");
  for (const char* field : {"max_tokens", "max_completion_tokens"})
    if (auto v = opt_int(body, field)) {
      if (*v < 1) bad_field(field, "at least 1");
      g.max_tokens = *v;
    }
  if (auto stop = opt_string_list(body, "stop")) {
    if (stop->size() > 4)
      throw Error(ErrorKind::invalid_input, "field 'stop' may hold at most 4 sequences");
    g.stop = std::move(*stop);
  }
  if (const auto* rf = opt_object(body, "response_format")) {
    const std::string type = opt_string(*rf, "type").value_or("text");
    if (type == "json_object" || type == "json_schema") g.json_object = true;
    else if (type != "text") bad_field("response_format.type", "text, json_object or json_schema");
  }
  g.keep_alive = opt_keep_alive(body);
  return g;
}

// A message's content: a string, or an array of parts of which the text ones are joined.
std::string message_content(const json::object& message, size_t index) {
  const auto it = message.find("content");
  if (it == message.end() || it->value().is_null()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  const std::string field = "messages[" + std::to_string(index) + "].content";
  if (!it->value().is_array()) bad_field(field, "a string or an array of parts");
  std::string text;
  for (const auto& part : it->value().as_array()) {
    if (!part.is_object())
      throw Error(ErrorKind::invalid_input, "field '" + field + "' parts must be objects");
    const auto& p = part.as_object();
    const std::string type = opt_string(p, "type").value_or("");
    if (type == "text") text += opt_string(p, "text").value_or("");
    else
      throw Error(ErrorKind::unsupported,
                  "field '" + field + "': content of type '" + type + "' is not supported (text only)");
  }
  return text;
}

std::vector<Message> read_messages(const json::object& body) {
  const json::array* list = opt_array(body, "messages");
  if (list == nullptr || list->empty())
    throw Error(ErrorKind::invalid_input, "field 'messages' is required and must not be empty");
  std::vector<Message> messages;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) bad_field(field, "an object");
    const auto& m = (*list)[i].as_object();
    std::string role = req_string(m, "role");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      bad_field(field + ".role", "system, developer, user or assistant");
    messages.push_back({std::move(role), message_content(m, i)});
  }
  return messages;
}

}  // namespace

void refuse_tools(const json::object& body) {
  const auto it = body.find("tools");
  if (it == body.end() || it->value().is_null()) return;
  if (it->value().is_array() && it->value().get_array().empty()) return;
  throw Error(ErrorKind::unsupported, "field 'tools': tools are not supported yet");
}

ChatCompletionRequest parse_chat_completion(const json::object& body) {
  refuse_tools(body);
  ChatCompletionRequest r{read_generation(body), {}};
  r.logprobs = opt_bool(body, "logprobs").value_or(false);
  if (auto top = opt_int(body, "top_logprobs")) {
    if (*top < 0 || *top > 20) bad_field("top_logprobs", "between 0 and 20");
    if (!r.logprobs) bad_field("top_logprobs", "used only with \"logprobs\": true");
    r.top_logprobs = static_cast<int>(*top);
  }
  r.messages = read_messages(body);
  return r;
}

CompletionRequest parse_completion(const json::object& body) {
  CompletionRequest r{read_generation(body), {}};
  if (auto top = opt_int(body, "logprobs")) {
    if (*top < 0 || *top > 5) bad_field("logprobs", "between 0 and 5");
    r.logprobs = true;
    r.top_logprobs = static_cast<int>(*top);
  }
  const auto prompts = opt_string_list(body, "prompt");
  if (!prompts || prompts->size() != 1) bad_field("prompt", "one string (or an array of one)");
  if (auto suffix = opt_string(body, "suffix"); suffix && !suffix->empty())
    throw Error(ErrorKind::unsupported, "field 'suffix' is not supported");
  if (opt_bool(body, "echo").value_or(false))
    throw Error(ErrorKind::unsupported, "field 'echo' is not supported");
  r.prompt = prompts->front();
  return r;
}

EmbeddingsRequest parse_embeddings(const json::object& body) {
  EmbeddingsRequest r;
  r.model = req_string(body, "model");
  auto inputs = opt_string_list(body, "input");
  if (!inputs || inputs->empty())
    throw Error(ErrorKind::invalid_input,
                "field 'input' is required: a string or an array of strings (token arrays are not supported)");
  for (const auto& s : *inputs)
    if (s.empty()) throw Error(ErrorKind::invalid_input, "field 'input' must not contain empty strings");
  const std::string format = opt_string(body, "encoding_format").value_or("float");
  if (format != "float" && format != "base64") bad_field("encoding_format", "float or base64");
  if (opt_int(body, "dimensions"))
    throw Error(ErrorKind::unsupported, "field 'dimensions' is not supported");
  r.input = std::move(*inputs);
  r.base64 = format == "base64";
  r.keep_alive = opt_keep_alive(body);
  return r;
}

}  // namespace hearth::api
