// Ollama-compatible inference: POST /api/chat, /api/generate, /api/embed, /api/embeddings, and
// POST /api/desktop/inference (the desktop connector's route: /api/chat's body and answer, run
// on this machine's models).
//
// Streams are NDJSON (one JSON object per line), streaming by default. The last object has
// "done": true, "done_reason" and the timings in nanoseconds. A request with no messages (chat)
// or an empty prompt (generate) only loads the model, or unloads it when keep_alive is 0
// (done_reason "load" / "unload"), as Ollama does.
#include <cmath>

#include "server/inference.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

std::string now_text() { return rfc3339(std::chrono::system_clock::now()); }

// "model", or the older "name"; Error(invalid_input) "field 'model' is required" without either.
std::string model_field(const json::object& body) {
  std::string model = opt_string(body, "model").value_or("");
  if (model.empty()) model = opt_string(body, "name").value_or("");
  if (model.empty()) throw Error(ErrorKind::invalid_input, "field 'model' is required");
  return model;
}

struct OllamaCommon {
  std::string model;
  bool stream = true;
};

// The fields /api/chat and /api/generate share.
OllamaCommon read_common(ApiContext& api, const Request& http, const json::object& body,
                         GenerationRequest& r, library::ResolvedModel& resolved) {
  OllamaCommon c;
  c.model = model_field(body);
  c.stream = opt_bool(body, "stream").value_or(true);
  resolved = api.library.resolve(http.caller.user_id, c.model);
  r.model = resolved.name;
  r.model_path = resolved.model_path.string();
  r.sampling.seed = random_seed();
  // The model's stored defaults first, then the request's options over them.
  const auto& params = resolved.manifest.parameters;
  if (params.is_object() && !params.empty()) {
    json::error_code ec;
    json::value stored = json::parse(params.dump(), ec);
    if (!ec && stored.is_object()) {
      try {
        apply_ollama_options(stored.as_object(), r);
      } catch (const Error& e) {
        throw Error(ErrorKind::corrupt_file,
                    "model '" + resolved.name + "' has invalid stored parameters: " + e.what());
      }
    }
  }
  if (const auto* options = opt_object(body, "options")) apply_ollama_options(*options, r);
  const auto fmt = body.find("format");
  if (fmt != body.end() && !fmt->value().is_null()) {
    const auto& f = fmt->value();
    if (f.is_object() || (f.is_string() && f.as_string() == "json")) r.json_object = true;
    else if (!(f.is_string() && f.as_string().empty()))
      throw Error(ErrorKind::invalid_input, "field 'format' must be \"json\" or a JSON schema object");
  }
  r.keep_alive = opt_keep_alive(body);
  return c;
}

json::object done_fields(const GenerationEvent& e) {
  const Timings& t = e.timings;
  return {{"done", true},
          {"done_reason", e.finish_reason},
          {"total_duration", t.total_ns},
          {"load_duration", t.load_ns},
          {"prompt_eval_count", t.prompt_tokens},
          {"prompt_eval_duration", t.prompt_ns},
          {"eval_count", t.completion_tokens},
          {"eval_duration", t.eval_ns}};
}

class OllamaWriter : public GenerationWriter {
 public:
  OllamaWriter(std::string model, bool stream, bool chat)
      : model_(std::move(model)), stream_(stream), chat_(chat) {}
  bool streaming() const override { return stream_; }
  std::string content_type() const override { return "application/x-ndjson"; }

  std::string piece(const std::string& text) override {
    if (text.empty()) return {};
    json::object o = head();
    put_text(o, text);
    o["done"] = false;
    return json_text(o) + "\n";
  }
  std::string done(const std::string& text, const GenerationEvent& e) override {
    json::object o = head();
    put_text(o, text);
    for (auto& [k, v] : done_fields(e)) o[k] = v;
    if (!hearth.is_null()) o["hearth"] = hearth;
    return json_text(o) + (stream_ ? "\n" : "");
  }
  std::string midstream_error(const std::string& message) override {
    return json_text(json::object{{"error", message}}) + "\n";
  }

 private:
  json::object head() const { return {{"model", model_}, {"created_at", now_text()}}; }
  void put_text(json::object& o, const std::string& text) const {
    if (chat_) o["message"] = json::object{{"role", "assistant"}, {"content", text}};
    else o["response"] = text;
  }
  std::string model_;
  bool stream_;
  bool chat_;
};

// Load or unload without generating (no messages / empty prompt).
Response load_or_unload(ApiContext& api, const Request& http, GenerationRequest& r, bool chat) {
  json::object o{{"model", r.model}, {"created_at", now_text()}};
  if (chat) o["message"] = json::object{{"role", "assistant"}, {"content", ""}};
  else o["response"] = "";
  o["done"] = true;
  if (r.keep_alive && r.keep_alive->count() == 0) {
    api.scheduler.unload(r.model_path);
    o["done_reason"] = "unload";
    return json_response(o);
  }
  o["done_reason"] = "load";
  auto out = std::make_shared<ResponseStream>();
  const std::string path = http.path();
  api.scheduler.preload(r.model, r.model_path, r.keep_alive, [out, o, path](GenerationEvent&& e) {
    if (e.kind == GenerationEvent::Kind::error)
      out->respond(error_response(path, status_for(e.error_kind), e.error_kind, e.error));
    else if (e.kind == GenerationEvent::Kind::done)
      out->respond(json_response(o));
  });
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

std::vector<chat::ChatMessage> read_messages(const json::object& body) {
  std::vector<chat::ChatMessage> messages;
  const json::array* list = opt_array(body, "messages");
  if (list == nullptr) return messages;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string field = "messages[" + std::to_string(i) + "]";
    if (!(*list)[i].is_object())
      throw Error(ErrorKind::invalid_input, "field '" + field + "' must be an object");
    const auto& m = (*list)[i].as_object();
    std::string role = req_string(m, "role");
    if (role != "system" && role != "user" && role != "assistant")
      throw Error(ErrorKind::invalid_input,
                  "field '" + field + ".role' must be system, user or assistant (got '" + role + "')");
    if (const auto* images = opt_array(m, "images"); images && !images->empty())
      throw Error(ErrorKind::unsupported, "field '" + field + ".images': images are not supported");
    messages.push_back({std::move(role), opt_string(m, "content").value_or("")});
  }
  return messages;
}

Response chat(ApiContext& api, const Request& http, const char* source) {
  const json::object body = parse_body_object(http.body);
  refuse_tools(body);
  GenerationRequest r;
  library::ResolvedModel m;
  OllamaCommon c = read_common(api, http, body, r, m);
  r.messages = read_messages(body);
  if (r.messages.empty()) return load_or_unload(api, http, r, true);
  auto capture = capture_chat(api, http, body, r, source);
  return run_generation(api, http, std::move(r),
                        std::make_shared<OllamaWriter>(c.model, c.stream, true), std::move(capture));
}

Response generate(ApiContext& api, const Request& http) {
  const json::object body = parse_body_object(http.body);
  GenerationRequest r;
  library::ResolvedModel m;
  OllamaCommon c = read_common(api, http, body, r, m);
  r.prompt = opt_string(body, "prompt").value_or("");
  r.system = opt_string(body, "system").value_or("");
  r.apply_template = !opt_bool(body, "raw").value_or(false);
  if (auto suffix = opt_string(body, "suffix"); suffix && !suffix->empty())
    throw Error(ErrorKind::unsupported, "field 'suffix' (fill-in-the-middle) is not supported");
  if (const auto* images = opt_array(body, "images"); images && !images->empty())
    throw Error(ErrorKind::unsupported, "field 'images': images are not supported");
  if (r.prompt.empty()) return load_or_unload(api, http, r, false);
  return run_generation(api, http, std::move(r),
                        std::make_shared<OllamaWriter>(c.model, c.stream, false));
}

// /api/embed (inputs: a string or an array; normalised vectors) and the older /api/embeddings
// (one "prompt", one "embedding").
Response embed(ApiContext& api, const Request& http, bool legacy) {
  const json::object body = parse_body_object(http.body);
  const std::string model = model_field(body);
  EmbeddingRequest r;
  if (legacy) {
    r.inputs = {req_string(body, "prompt")};
  } else {
    const auto inputs = opt_string_list(body, "input");
    if (!inputs || inputs->empty())
      throw Error(ErrorKind::invalid_input, "field 'input' is required: a string or an array of strings");
    r.inputs = *inputs;
  }
  for (const auto& s : r.inputs)
    if (s.empty()) throw Error(ErrorKind::invalid_input, "field 'input' must not contain empty strings");
  r.truncate = opt_bool(body, "truncate").value_or(true);
  r.keep_alive = opt_keep_alive(body);
  if (const auto* options = opt_object(body, "options"))
    if (auto n = opt_int(*options, "num_ctx")) {
      if (*n < 1) throw Error(ErrorKind::invalid_input, "field 'num_ctx' must be at least 1");
      r.num_ctx = static_cast<int>(std::min<std::int64_t>(*n, 1 << 24));
    }
  return run_embeddings(api, http, model, std::move(r), [model, legacy](const EmbeddingResult& result) {
    if (legacy)
      return json_response(json::object{
          {"embedding", result.embeddings.empty() ? json::array{} : float_array(result.embeddings[0])}});
    json::array all;
    for (const auto& e : result.embeddings) all.emplace_back(float_array(e));
    return json_response(json::object{{"model", model},
                                      {"embeddings", std::move(all)},
                                      {"total_duration", result.timings.total_ns},
                                      {"load_duration", result.timings.load_ns},
                                      {"prompt_eval_count", result.prompt_tokens}});
  });
}

}  // namespace

void add_ollama_routes(Router& router, ApiContext& api) {
  router.add("POST", "/api/chat", [&api](const Request& r) { return chat(api, r, "ollama"); });
  router.add("POST", "/api/generate", [&api](const Request& r) { return generate(api, r); });
  router.add("POST", "/api/embed", [&api](const Request& r) { return embed(api, r, false); });
  router.add("POST", "/api/embeddings", [&api](const Request& r) { return embed(api, r, true); });
  router.add("POST", "/api/desktop/inference",
             [&api](const Request& r) { return chat(api, r, "desktop"); });
}

}  // namespace hearth::server
