// Ollama-compatible inference: POST /api/chat, /api/generate, /api/embed, /api/embeddings, and
// POST /api/desktop/inference (the desktop connector's route: /api/chat's body and answer, run
// on this machine's models).
//
// Streams are NDJSON (one JSON object per line), streaming by default. The last object has
// "done": true, "done_reason" and the timings in nanoseconds. A request with no messages (chat)
// or an empty prompt (generate) only loads the model, or unloads it when keep_alive is 0
// (done_reason "load" / "unload"), as Ollama does.
#include <cmath>

#include "api/ollama.h"
#include "api/tools.h"
#include "engine/generate/json_schema.h"
#include "server/inference.h"
#include "server/logprobs_json.h"
#include "server/remote_chat.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

std::string now_text() { return rfc3339(std::chrono::system_clock::now()); }

// The request for the scheduler: the model's stored options first, then the request's over them.
GenerationRequest generation_request(ApiContext& api, const Request& http,
                                     const api::OllamaGeneration& g) {
  const library::ResolvedModel resolved = api.library.resolve(http.caller.user_id, g.model);
  GenerationRequest r;
  use_model(r, resolved);
  r.sampling.seed = random_seed();
  apply_options(api::overlay(resolved.manifest.parameters, g.options), r);
  r.json_object = g.json_format;
  r.json_schema = g.json_schema;
  r.keep_alive = g.keep_alive;
  r.logprobs = g.logprobs;
  r.top_logprobs = g.top_logprobs;
  return r;
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
  OllamaWriter(std::string model, bool stream, bool chat, bool logprobs)
      : model_(std::move(model)), stream_(stream), chat_(chat), logprobs_(logprobs) {}
  bool streaming() const override { return stream_; }
  std::string content_type() const override { return "application/x-ndjson"; }

  std::string piece(int, const GenerationEvent& e) override {
    if (e.text.empty() && e.reasoning.empty() && e.tool_calls.empty() && e.logprobs.empty())
      return {};
    json::object o = head();
    put_text(o, e);
    if (logprobs_) o["logprobs"] = logprob_entries(e.logprobs);
    o["done"] = false;
    return json_text(o) + "\n";
  }
  std::string choice_done(int, const GenerationEvent&) override { return {}; }
  std::string done(const std::vector<ChoiceResult>& choices, const Timings&) override {
    const ChoiceResult& c = choices.at(0);  // Ollama asks for one answer
    json::object o = head();
    put_text(o, c.whole);
    if (logprobs_ && !stream_) o["logprobs"] = logprob_entries(c.whole.logprobs);
    for (auto& [k, v] : done_fields(c.end)) o[k] = v;
    if (!hearth.is_null()) o["hearth"] = hearth;
    return json_text(o) + (stream_ ? "\n" : "");
  }
  std::string midstream_error(const std::string& message) override {
    return json_text(json::object{{"error", message}}) + "\n";
  }

 private:
  json::object head() const { return {{"model", model_}, {"created_at", now_text()}}; }
  // The text, and (chat) the reasoning and calls as Ollama's message carries them; /api/generate
  // puts reasoning in "thinking" beside "response".
  void put_text(json::object& o, const GenerationEvent& e) {
    if (!chat_) {
      o["response"] = e.text;
      if (!e.reasoning.empty()) o["thinking"] = e.reasoning;
      return;
    }
    json::object m{{"role", "assistant"}, {"content", e.text}};
    if (!e.reasoning.empty()) m["thinking"] = e.reasoning;
    if (!e.tool_calls.empty()) {
      m["tool_calls"] = api::tool_calls_json(e.tool_calls, api::ToolDialect::ollama, calls_sent_);
      if (stream_) calls_sent_ += e.tool_calls.size();
    }
    o["message"] = std::move(m);
  }
  size_t calls_sent_ = 0;  // streamed calls so far (their indexes)
  std::string model_;
  bool stream_;
  bool chat_;
  bool logprobs_;
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

Response chat(ApiContext& api, const Request& http, const char* source) {
  const json::object body = parse_body_object(http.body);
  api::ChatRequest c = api::parse_chat(body);
  // A schema hearth cannot follow is a 400 now, before the request waits for a model.
  generate::check_json_schema(c.json_schema, "format");
  if (!c.messages.empty())  // a desktop agent or a remote engine (routing.h)
    if (auto route = choose_route(api, http, c.model)) {
      GenerationRequest r;
      r.model = route->model;
      r.sampling.seed = random_seed();
      apply_options(c.options, r);
      r.json_object = c.json_format;
      r.json_schema = c.json_schema;
      r.keep_alive = c.keep_alive;
      r.messages = std::move(c.messages);
      r.chat = std::move(c.chat);
      r.logprobs = c.logprobs;  // refused there (run_generation): the route cannot carry them
      auto capture = capture_chat(api, http, body, r, source);
      return run_generation(api, http, std::move(r),
                            std::make_shared<OllamaWriter>(c.model, c.stream, true, c.logprobs),
                            std::move(capture), route->target);
    }
  if (!c.messages.empty())  // a version trained by a remote API answers from there
    if (const auto m = api.library.resolve(http.caller.user_id, c.model); m.remote()) {
      if (c.logprobs)
        throw Error(ErrorKind::unsupported,
                    "field 'logprobs' is not available for a version served by a remote API");
      return forward_remote_ollama_chat(api, http, c, m);
    }
  GenerationRequest r = generation_request(api, http, c);
  r.messages = std::move(c.messages);
  r.chat = std::move(c.chat);
  if (r.messages.empty()) return load_or_unload(api, http, r, true);
  auto capture = capture_chat(api, http, body, r, source);
  return run_generation(api, http, std::move(r),
                        std::make_shared<OllamaWriter>(c.model, c.stream, true, c.logprobs), std::move(capture));
}

Response generate(ApiContext& api, const Request& http) {
  api::GenerateRequest g = api::parse_generate(parse_body_object(http.body));
  generate::check_json_schema(g.json_schema, "format");
  GenerationRequest r = generation_request(api, http, g);
  r.prompt = std::move(g.prompt);
  r.system = std::move(g.system);
  r.apply_template = !g.raw;
  r.chat = std::move(g.chat);
  if (r.prompt.empty()) return load_or_unload(api, http, r, false);
  return run_generation(api, http, std::move(r),
                        std::make_shared<OllamaWriter>(g.model, g.stream, false, g.logprobs));
}

// /api/embed (inputs: a string or an array; normalised vectors) and the older /api/embeddings
// (one "prompt", one "embedding").
Response embed(ApiContext& api, const Request& http, bool legacy) {
  const api::EmbedRequest e = api::parse_embed(parse_body_object(http.body), legacy);
  const std::string model = e.model;
  EmbeddingRequest r;
  r.inputs = e.input;
  r.truncate = e.truncate;
  r.keep_alive = e.keep_alive;
  if (e.num_ctx) r.num_ctx = static_cast<int>(*e.num_ctx);
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
