// See openai.h.
#include "api/openai.h"

#include <cctype>

#include "api/fields.h"
#include "api/ollama.h"  // opt_keep_alive
#include "api/tools.h"
#include "api/unsupported.h"
#include "core/error.h"

namespace hearth::api {
namespace {

// response_format {type: "json_schema", json_schema: {name, schema, strict, description}}: the
// schema's JSON text (empty when it has none: any JSON object, as json_object). The server
// compiles the schema (engine/generate/json_schema.h), which names what it cannot do. `strict`
// changes nothing: hearth's output always keeps to the schema.
std::string read_json_schema(const json::object& rf) {
  const auto* js = rf.if_contains("json_schema");
  if (!js || !js->is_object())
    bad_field("response_format.json_schema", "an object with a name and a schema");
  const json::object& o = js->get_object();
  if (const auto* name = o.if_contains("name")) {
    bool ok = name->is_string() && !name->get_string().empty() && name->get_string().size() <= 64;
    if (ok)
      for (char c : name->get_string())
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
    if (!ok) bad_field("response_format.json_schema.name", "1 to 64 letters, digits, '_' or '-'");
  }
  if (const auto* strict = o.if_contains("strict"); strict && !strict->is_null() && !strict->is_bool())
    bad_field("response_format.json_schema.strict", "true or false");
  if (const auto* d = o.if_contains("description"); d && !d->is_null() && !d->is_string())
    bad_field("response_format.json_schema.description", "a string");
  const auto* schema = o.if_contains("schema");
  if (!schema || schema->is_null()) return {};
  if (!schema->is_object()) bad_field("response_format.json_schema.schema", "a JSON schema object");
  return json::serialize(*schema);
}

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
    if (type == "json_schema") g.json_schema = read_json_schema(*rf);
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
    if (role != "system" && role != "user" && role != "assistant" && role != "tool" &&
        role != "function")
      bad_field(field + ".role", "system, developer, user, assistant or tool");
    messages.push_back({std::move(role), message_content(m, i)});
    read_message_tools(m, i, ToolDialect::openai, messages.back());
  }
  return messages;
}

}  // namespace

ChatCompletionRequest parse_chat_completion(const json::object& body) {
  refuse_unsupported_openai(body, /*chat=*/true);
  ChatCompletionRequest r{read_generation(body), {}, {}};
  r.logprobs = opt_bool(body, "logprobs").value_or(false);
  if (auto top = opt_int(body, "top_logprobs")) {
    if (*top < 0 || *top > 20) bad_field("top_logprobs", "between 0 and 20");
    if (!r.logprobs) bad_field("top_logprobs", "used only with \"logprobs\": true");
    r.top_logprobs = static_cast<int>(*top);
  }
  r.messages = read_messages(body);
  r.chat = read_chat_options(body, ToolDialect::openai);
  chat::check_tools(r.chat, r.messages);
  return r;
}

CompletionRequest parse_completion(const json::object& body) {
  refuse_unsupported_openai(body, /*chat=*/false);
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
