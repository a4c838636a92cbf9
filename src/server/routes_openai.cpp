// OpenAI-compatible inference: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
//
// Defaults follow OpenAI's: temperature 1, top_p 1, no top-k and no repeat penalty (only the
// presence and frequency penalties, over everything generated). Streams are server-sent events,
// one JSON chunk per "data:" line, ending with "data: [DONE]". Only n = 1 is supported.
#include <cmath>
#include <cstring>

#include "core/base64.h"
#include "server/inference.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object usage_json(const Timings& t) {
  return {{"prompt_tokens", t.prompt_tokens},
          {"completion_tokens", t.completion_tokens},
          {"total_tokens", t.prompt_tokens + t.completion_tokens}};
}

std::string sse(const json::value& v) { return "data: " + json_text(v) + "\n\n"; }

// The settings every OpenAI generation route reads.
struct OpenAiCommon {
  std::string model;
  bool stream = false;
  bool include_usage = false;
};

OpenAiCommon read_common(const json::object& body, GenerationRequest& r) {
  OpenAiCommon c;
  c.model = req_string(body, "model");
  c.stream = opt_bool(body, "stream").value_or(false);
  if (const auto* so = opt_object(body, "stream_options"))
    c.include_usage = opt_bool(*so, "include_usage").value_or(false);
  if (auto n = opt_int(body, "n"); n && *n != 1)
    throw Error(ErrorKind::invalid_input, "field 'n' must be 1 (one choice per request)");
  auto& s = r.sampling;
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.repeat_penalty = 1.0f;
  s.repeat_last_n = -1;
  auto number = [&](std::string_view field, double lo, double hi) -> std::optional<float> {
    auto v = opt_number(body, field);
    if (!v) return std::nullopt;
    if (!std::isfinite(*v) || *v < lo || *v > hi)
      throw Error(ErrorKind::invalid_input, "field '" + std::string(field) + "' must be between " +
                                                number_text(lo) + " and " +
                                                number_text(hi));
    return static_cast<float>(*v);
  };
  if (auto v = number("temperature", 0, 2)) s.temperature = *v;
  if (auto v = number("top_p", 0, 1)) s.top_p = *v == 0 ? 1e-6f : *v;
  if (auto v = number("presence_penalty", -2, 2)) s.presence_penalty = *v;
  if (auto v = number("frequency_penalty", -2, 2)) s.frequency_penalty = *v;
  s.seed = random_seed();
  if (auto v = opt_int(body, "seed")) s.seed = static_cast<std::uint64_t>(*v);
  for (const char* field : {"max_tokens", "max_completion_tokens"})
    if (auto v = opt_int(body, field)) {
      if (*v < 1) throw Error(ErrorKind::invalid_input, std::string("field '") + field + "' must be at least 1");
      r.max_tokens = static_cast<int>(std::min<std::int64_t>(*v, 1 << 30));
    }
  if (auto stop = opt_string_list(body, "stop")) {
    if (stop->size() > 4)
      throw Error(ErrorKind::invalid_input, "field 'stop' may hold at most 4 sequences");
    r.stop = *stop;
  }
  if (const auto* rf = opt_object(body, "response_format")) {
    const std::string type = opt_string(*rf, "type").value_or("text");
    if (type == "json_object" || type == "json_schema") r.json_object = true;
    else if (type != "text")
      throw Error(ErrorKind::invalid_input,
                  "field 'response_format.type' must be text, json_object or json_schema");
  }
  r.keep_alive = opt_keep_alive(body);
  return c;
}

// A message's content: a string, or an array of parts of which the text ones are joined.
std::string message_content(const json::object& message, size_t index) {
  const auto it = message.find("content");
  if (it == message.end() || it->value().is_null()) return {};
  if (it->value().is_string()) return std::string(it->value().as_string());
  const std::string field = "messages[" + std::to_string(index) + "].content";
  if (!it->value().is_array())
    throw Error(ErrorKind::invalid_input, "field '" + field + "' must be a string or an array of parts");
  std::string text;
  for (const auto& part : it->value().as_array()) {
    if (!part.is_object()) throw Error(ErrorKind::invalid_input, "field '" + field + "' parts must be objects");
    const auto& p = part.as_object();
    const std::string type = opt_string(p, "type").value_or("");
    if (type == "text") text += opt_string(p, "text").value_or("");
    else
      throw Error(ErrorKind::unsupported,
                  "field '" + field + "': content of type '" + type + "' is not supported (text only)");
  }
  return text;
}

std::vector<chat::ChatMessage> read_messages(const json::object& body) {
  const json::array* list = opt_array(body, "messages");
  if (list == nullptr || list->empty())
    throw Error(ErrorKind::invalid_input, "field 'messages' is required and must not be empty");
  std::vector<chat::ChatMessage> messages;
  for (size_t i = 0; i < list->size(); ++i) {
    if (!(*list)[i].is_object())
      throw Error(ErrorKind::invalid_input, "field 'messages[" + std::to_string(i) + "]' must be an object");
    const auto& m = (*list)[i].as_object();
    std::string role = req_string(m, "role");
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      throw Error(ErrorKind::invalid_input, "field 'messages[" + std::to_string(i) +
                                                "].role' must be system, developer, user or assistant");
    messages.push_back({std::move(role), message_content(m, i)});
  }
  return messages;
}

class ChatWriter : public GenerationWriter {
 public:
  ChatWriter(OpenAiCommon c, bool chat) : c_(std::move(c)), chat_(chat) {
    id_ = random_id(chat ? "chatcmpl-" : "cmpl-");
    created_ = unix_now();
  }
  bool streaming() const override { return c_.stream; }
  std::string content_type() const override { return "text/event-stream"; }

  std::string piece(const std::string& text) override {
    std::string out;
    if (chat_ && !sent_role_) {
      sent_role_ = true;
      out += sse(chunk(json::object{{"role", "assistant"}, {"content", ""}}, nullptr));
    }
    if (text.empty()) return out;
    out += sse(chat_ ? chunk(json::object{{"content", text}}, nullptr) : chunk(json::string(text), nullptr));
    return out;
  }

  std::string done(const std::string& text, const GenerationEvent& e) override {
    if (!c_.stream) {
      json::object choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", e.finish_reason}};
      if (chat_) choice["message"] = json::object{{"role", "assistant"}, {"content", text}};
      else choice["text"] = text;
      json::object body = base(chat_ ? "chat.completion" : "text_completion");
      body["choices"] = json::array{std::move(choice)};
      body["usage"] = usage_json(e.timings);
      if (!hearth.is_null()) body["hearth"] = hearth;
      return json_text(body);
    }
    std::string out = piece({});
    json::object last = chat_ ? chunk(json::object{}, e.finish_reason.c_str())
                              : chunk(json::string(), e.finish_reason.c_str());
    if (!hearth.is_null()) last["hearth"] = hearth;
    out += sse(last);
    if (c_.include_usage) {
      json::object last = base(chat_ ? "chat.completion.chunk" : "text_completion");
      last["choices"] = json::array{};
      last["usage"] = usage_json(e.timings);
      out += sse(last);
    }
    return out + "data: [DONE]\n\n";
  }

  std::string midstream_error(const std::string& message) override {
    return sse(json::object{{"error", json::object{{"message", message}, {"type", "server_error"}}}}) +
           "data: [DONE]\n\n";
  }

 private:
  json::object base(const char* object) const {
    return {{"id", id_}, {"object", object}, {"created", created_}, {"model", c_.model},
            {"system_fingerprint", "hearth-" HEARTH_VERSION}};
  }
  json::object chunk(json::value delta_or_text, const char* finish) const {
    json::object choice{{"index", 0}, {"logprobs", nullptr}};
    if (chat_) choice["delta"] = std::move(delta_or_text);
    else choice["text"] = std::move(delta_or_text);
    choice["finish_reason"] = finish ? json::value(finish) : json::value(nullptr);
    json::object o = base(chat_ ? "chat.completion.chunk" : "text_completion");
    o["choices"] = json::array{std::move(choice)};
    if (c_.include_usage) o["usage"] = nullptr;
    return o;
  }

  OpenAiCommon c_;
  bool chat_;
  std::string id_;
  std::int64_t created_ = 0;
  bool sent_role_ = false;
};

Response chat_completions(ApiContext& api, const Request& http) {
  const json::object body = parse_body_object(http.body);
  refuse_tools(body);
  GenerationRequest r;
  OpenAiCommon c = read_common(body, r);
  r.messages = read_messages(body);
  const library::ResolvedModel m = api.library.resolve(http.caller.user_id, c.model);
  r.model = m.name;
  r.model_path = m.model_path.string();
  auto capture = capture_chat(api, http, body, r, "openai");
  return run_generation(api, http, std::move(r), std::make_shared<ChatWriter>(std::move(c), true),
                        std::move(capture));
}

Response completions(ApiContext& api, const Request& http) {
  const json::object body = parse_body_object(http.body);
  GenerationRequest r;
  r.max_tokens = 16;  // OpenAI's default for this endpoint
  OpenAiCommon c = read_common(body, r);
  const auto prompts = opt_string_list(body, "prompt");
  if (!prompts || prompts->size() != 1)
    throw Error(ErrorKind::invalid_input, "field 'prompt' must be one string (or an array of one)");
  if (auto suffix = opt_string(body, "suffix"); suffix && !suffix->empty())
    throw Error(ErrorKind::unsupported, "field 'suffix' is not supported");
  if (opt_bool(body, "echo").value_or(false))
    throw Error(ErrorKind::unsupported, "field 'echo' is not supported");
  r.prompt = prompts->front();
  r.apply_template = false;
  const library::ResolvedModel m = api.library.resolve(http.caller.user_id, c.model);
  r.model = m.name;
  r.model_path = m.model_path.string();
  return run_generation(api, http, std::move(r), std::make_shared<ChatWriter>(std::move(c), false));
}

std::string base64_floats(const std::vector<float>& v) {
  std::string bytes(v.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian, as OpenAI sends it
  return base64_encode(bytes);
}

Response embeddings(ApiContext& api, const Request& http) {
  const json::object body = parse_body_object(http.body);
  EmbeddingRequest r;
  const std::string model = req_string(body, "model");
  const auto inputs = opt_string_list(body, "input");
  if (!inputs || inputs->empty())
    throw Error(ErrorKind::invalid_input,
                "field 'input' is required: a string or an array of strings (token arrays are not supported)");
  for (const auto& s : *inputs)
    if (s.empty()) throw Error(ErrorKind::invalid_input, "field 'input' must not contain empty strings");
  const std::string format = opt_string(body, "encoding_format").value_or("float");
  if (format != "float" && format != "base64")
    throw Error(ErrorKind::invalid_input, "field 'encoding_format' must be float or base64");
  if (opt_int(body, "dimensions"))
    throw Error(ErrorKind::unsupported, "field 'dimensions' is not supported");
  r.inputs = *inputs;
  r.truncate = false;
  r.keep_alive = opt_keep_alive(body);
  return run_embeddings(api, http, model, std::move(r), [model, format](const EmbeddingResult& result) {
    json::array data;
    for (size_t i = 0; i < result.embeddings.size(); ++i) {
      json::object item{{"object", "embedding"}, {"index", i}};
      if (format == "base64") {
        item["embedding"] = base64_floats(result.embeddings[i]);
      } else {
        item["embedding"] = float_array(result.embeddings[i]);
      }
      data.emplace_back(std::move(item));
    }
    return json_response(json::object{
        {"object", "list"},
        {"data", std::move(data)},
        {"model", model},
        {"usage", json::object{{"prompt_tokens", result.prompt_tokens},
                               {"total_tokens", result.prompt_tokens}}}});
  });
}

}  // namespace

void add_openai_routes(Router& router, ApiContext& api) {
  router.add("POST", "/v1/chat/completions", [&api](const Request& r) { return chat_completions(api, r); });
  router.add("POST", "/v1/completions", [&api](const Request& r) { return completions(api, r); });
  router.add("POST", "/v1/embeddings", [&api](const Request& r) { return embeddings(api, r); });
}

}  // namespace hearth::server
