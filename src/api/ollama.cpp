// See ollama.h.
#include "api/ollama.h"

#include <cmath>

#include "api/fields.h"
#include "api/tools.h"
#include "api/unsupported.h"
#include "core/duration.h"
#include "core/error.h"
#include "core/json_text.h"

namespace hearth::api {
namespace {

[[noreturn]] void bad_keep_alive(std::string_view text) {
  throw Error(ErrorKind::invalid_input,
              "field 'keep_alive' must be a number of seconds or a duration such as \"5m\", "
              "\"1h\", \"30s\" or \"-1\" (got '" + std::string(text) + "')");
}

OllamaGeneration read_generation(const json::object& body) {
  OllamaGeneration g;
  g.model = model_field(body);
  g.stream = opt_bool(body, "stream").value_or(true);
  if (const auto* options = opt_object(body, "options"))
    g.options = read_options(*options, UnknownOptions::ignore);
  const auto fmt = body.find("format");
  if (fmt != body.end() && !fmt->value().is_null()) {
    const auto& f = fmt->value();
    if (f.is_object()) g.json_schema = json::serialize(f);
    if (f.is_object() || (f.is_string() && f.as_string() == "json")) g.json_format = true;
    else if (!(f.is_string() && f.as_string().empty()))
      bad_field("format", "\"json\" or a JSON schema object");
  }
  g.keep_alive = opt_keep_alive(body);
  g.logprobs = opt_bool(body, "logprobs").value_or(false);
  if (auto top = opt_int(body, "top_logprobs"); top && *top != 0) {
    if (*top < 0 || *top > 20) bad_field("top_logprobs", "between 0 and 20");
    if (!g.logprobs) bad_field("top_logprobs", "used only with \"logprobs\": true");
    g.top_logprobs = static_cast<int>(*top);
  }
  return g;
}

}  // namespace

std::chrono::milliseconds parse_keep_alive(const json::value& value) {
  if (value.is_string()) {
    const auto d = parse_duration(value.as_string());
    if (!d) bad_keep_alive(value.as_string());
    return *d;
  }
  if (value.is_number()) {
    const double seconds = value.to_number<double>();
    if (std::isnan(seconds)) bad_keep_alive(format_json(value));
    // Negative, or longer than a clock can hold: forever (core/duration.h).
    if (seconds < 0 || seconds * 1000 > static_cast<double>(kLongestDuration.count()))
      return std::chrono::milliseconds(-1);
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  bad_keep_alive(format_json(value));
}

std::optional<std::chrono::milliseconds> opt_keep_alive(const json::object& body) {
  const auto it = body.find("keep_alive");
  if (it == body.end() || it->value().is_null()) return std::nullopt;
  return parse_keep_alive(it->value());
}

std::string model_field(const json::object& body) {
  if (auto m = opt_string(body, "model"); m && !m->empty()) return *m;
  if (auto n = opt_string(body, "name"); n && !n->empty()) return *n;
  throw Error(ErrorKind::invalid_input, "field 'model' is required");
}

ChatRequest parse_chat(const json::object& body) {
  refuse_unsupported_ollama(body);
  ChatRequest r{read_generation(body), {}, read_chat_options(body, ToolDialect::ollama)};
  const json::array* list = opt_array(body, "messages");
  if (list == nullptr) return r;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object()) bad_field(field, "an object");
    const auto& m = (*list)[i].as_object();
    std::string role = req_string(m, "role");
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      bad_field(field + ".role", "system, user, assistant or tool (got '" + role + "')");
    if (const auto* images = opt_array(m, "images"); images && !images->empty())
      throw Error(ErrorKind::unsupported, "field '" + field + ".images': images are not supported");
    r.messages.push_back({std::move(role), opt_string(m, "content").value_or("")});
    read_message_tools(m, i, ToolDialect::ollama, r.messages.back());
  }
  chat::check_tools(r.chat, r.messages);
  return r;
}

GenerateRequest parse_generate(const json::object& body) {
  refuse_unsupported_ollama(body);
  GenerateRequest r{read_generation(body), {}, {}, false, read_chat_options(body, ToolDialect::ollama)};
  if (!r.chat.tools.empty()) bad_field("tools", "absent: /api/generate takes no tools (use /api/chat)");
  r.prompt = opt_string(body, "prompt").value_or("");
  r.system = opt_string(body, "system").value_or("");
  r.raw = opt_bool(body, "raw").value_or(false);
  if (auto suffix = opt_string(body, "suffix"); suffix && !suffix->empty())
    throw Error(ErrorKind::unsupported, "field 'suffix' (fill-in-the-middle) is not supported");
  if (const auto* images = opt_array(body, "images"); images && !images->empty())
    throw Error(ErrorKind::unsupported, "field 'images': images are not supported");
  return r;
}

EmbedRequest parse_embed(const json::object& body, bool legacy) {
  EmbedRequest r;
  r.model = model_field(body);
  if (legacy) {
    r.input = {req_string(body, "prompt")};
  } else {
    auto inputs = opt_string_list(body, "input");
    if (!inputs || inputs->empty())
      throw Error(ErrorKind::invalid_input, "field 'input' is required: a string or an array of strings");
    r.input = std::move(*inputs);
  }
  for (const auto& s : r.input)
    if (s.empty()) throw Error(ErrorKind::invalid_input, "field 'input' must not contain empty strings");
  r.truncate = opt_bool(body, "truncate").value_or(true);
  r.keep_alive = opt_keep_alive(body);
  if (const auto* options = opt_object(body, "options"))
    if (auto n = opt_int(*options, "num_ctx")) {
      if (*n < 1) bad_field("num_ctx", "at least 1");
      r.num_ctx = std::min<std::int64_t>(*n, 1 << 24);
    }
  return r;
}

}  // namespace hearth::api
