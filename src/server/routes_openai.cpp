// OpenAI-compatible inference: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
//
// Defaults follow OpenAI's: temperature 1, top_p 1, no top-k and no repeat penalty (only the
// presence and frequency penalties, over everything generated). Streams are server-sent events,
// one JSON chunk per "data:" line, ending with "data: [DONE]". Chat answers carry reasoning and
// tool calls apart from the text (api/tools.h). With n > 1 each chunk carries its choice's
// index, every choice ends with its own finish_reason chunk, and usage counts the prompt once
// (inference.h: run_generation).
#include <cmath>
#include <cstring>

#include "core/base64.h"
#include "api/openai.h"
#include "api/tools.h"
#include "engine/generate/json_schema.h"
#include "server/inference.h"
#include "server/logprobs_json.h"
#include "server/remote_chat.h"
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

// OpenAI's defaults under the request's sampling fields (api/openai.h checked them).
GenerationRequest generation_request(const api::OpenAiGeneration& g) {
  GenerationRequest r;
  auto& s = r.sampling;
  s.temperature = static_cast<float>(g.temperature.value_or(1.0));
  s.top_p = g.top_p == 0.0 ? 1e-6f : static_cast<float>(g.top_p.value_or(1.0));
  s.top_k = 0;
  s.repeat_penalty = 1.0f;
  s.repeat_last_n = -1;
  s.presence_penalty = static_cast<float>(g.presence_penalty.value_or(0.0));
  s.frequency_penalty = static_cast<float>(g.frequency_penalty.value_or(0.0));
  s.seed = g.seed ? static_cast<std::uint64_t>(*g.seed) : random_seed();
  if (g.max_tokens) r.max_tokens = static_cast<int>(std::min<std::int64_t>(*g.max_tokens, 1 << 30));
  r.stop = g.stop;
  r.json_object = g.json_object;
  // A schema hearth cannot follow is a 400 now, before the request waits for a model.
  generate::check_json_schema(g.json_schema, "response_format.json_schema.schema");
  r.json_schema = g.json_schema;
  r.keep_alive = g.keep_alive;
  r.logprobs = g.logprobs;
  r.top_logprobs = g.top_logprobs;
  return r;
}

class ChatWriter : public GenerationWriter {
 public:
  ChatWriter(api::OpenAiGeneration c, bool chat)
      : c_(std::move(c)), chat_(chat), sent_role_(static_cast<size_t>(c_.n)),
        offsets_(static_cast<size_t>(c_.n)), calls_sent_(static_cast<size_t>(c_.n)) {
    id_ = random_id(chat ? "chatcmpl-" : "cmpl-");
    created_ = unix_now();
  }
  bool streaming() const override { return c_.stream; }
  std::string content_type() const override { return "text/event-stream"; }

  std::string piece(int index, const GenerationEvent& e) override {
    std::string out = role(index);
    const auto i = static_cast<size_t>(index);
    // Chat: reasoning first, then the text (with the step's logprobs), then completed calls.
    if (chat_ && !e.reasoning.empty())
      out += sse(chunk(chunk_choice(index, json::object{{"reasoning_content", e.reasoning}}, nullptr)));
    if (!e.text.empty() || !e.logprobs.empty()) {
      json::object choice = chunk_choice(
          index, chat_ ? json::value(json::object{{"content", e.text}}) : json::string(e.text), nullptr);
      if (c_.logprobs) choice["logprobs"] = logprobs(index, e.logprobs);
      out += sse(chunk(std::move(choice)));
    }
    if (chat_ && !e.tool_calls.empty()) {
      out += sse(chunk(chunk_choice(
          index,
          json::object{{"tool_calls", api::tool_calls_json(e.tool_calls, api::ToolDialect::openai,
                                                           calls_sent_[i])}},
          nullptr)));
      calls_sent_[i] += e.tool_calls.size();
    }
    return out;
  }

  std::string choice_done(int index, const GenerationEvent& e) override {
    std::string out = role(index);
    const std::string reason = finish_reason(e, calls_sent_[static_cast<size_t>(index)] > 0);
    json::object last = chunk(chunk_choice(
        index, chat_ ? json::value(json::object{}) : json::string(), reason.c_str()));
    if (!hearth.is_null()) last["hearth"] = hearth;
    return out + sse(last);
  }

  std::string done(const std::vector<ChoiceResult>& choices, const Timings& usage) override {
    if (!c_.stream) {
      json::array list;
      for (size_t i = 0; i < choices.size(); ++i) {
        const ChoiceResult& c = choices[i];
        const bool called = !c.whole.tool_calls.empty();
        json::object choice{{"index", i}, {"logprobs", nullptr},
                            {"finish_reason", finish_reason(c.end, called)}};
        if (chat_) {
          json::object message{{"role", "assistant"}};
          message["content"] =
              c.whole.text.empty() && called ? json::value(nullptr) : json::value(c.whole.text);
          if (!c.whole.reasoning.empty()) message["reasoning_content"] = c.whole.reasoning;
          if (called)
            message["tool_calls"] = api::tool_calls_json(c.whole.tool_calls, api::ToolDialect::openai);
          choice["message"] = std::move(message);
        } else {
          choice["text"] = c.whole.text;
        }
        if (c_.logprobs) choice["logprobs"] = logprobs(static_cast<int>(i), c.whole.logprobs);
        list.emplace_back(std::move(choice));
      }
      json::object body = base(chat_ ? "chat.completion" : "text_completion");
      body["choices"] = std::move(list);
      body["usage"] = usage_json(usage);
      if (!hearth.is_null()) body["hearth"] = hearth;
      return json_text(body);
    }
    std::string out;
    if (c_.include_usage) {
      json::object last = base(chat_ ? "chat.completion.chunk" : "text_completion");
      last["choices"] = json::array{};
      last["usage"] = usage_json(usage);
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
  // An answer that called tools ends with "tool_calls", as OpenAI's do ("length" stays: a call
  // the budget closed early is still one, but the client should know it was cut).
  static std::string finish_reason(const GenerationEvent& end, bool called) {
    return called && end.finish_reason == "stop" ? "tool_calls" : end.finish_reason;
  }
  // A chat stream's first chunk of each choice names the role.
  std::string role(int index) {
    if (!chat_ || sent_role_[static_cast<size_t>(index)]) return {};
    sent_role_[static_cast<size_t>(index)] = true;
    return sse(chunk(chunk_choice(index, json::object{{"role", "assistant"}, {"content", ""}}, nullptr)));
  }
  json::object chunk_choice(int index, json::value delta_or_text, const char* finish) const {
    json::object choice{{"index", index}, {"logprobs", nullptr}};
    if (chat_) choice["delta"] = std::move(delta_or_text);
    else choice["text"] = std::move(delta_or_text);
    choice["finish_reason"] = finish ? json::value(finish) : json::value(nullptr);
    return choice;
  }
  json::object chunk(json::object choice) const {
    json::object o = base(chat_ ? "chat.completion.chunk" : "text_completion");
    o["choices"] = json::array{std::move(choice)};
    if (c_.include_usage) o["usage"] = nullptr;
    return o;
  }
  // A choice's logprobs (logprobs_json.h): chat {"content": [...], "refusal": null}, completions
  // {"tokens", "token_logprobs", "top_logprobs", "text_offset"} (offsets go on across chunks).
  json::value logprobs(int index, std::span<const generate::TokenLogprobs> tokens) {
    if (chat_) return json::object{{"content", logprob_entries(tokens)}, {"refusal", nullptr}};
    return completion_logprobs(tokens, offsets_[static_cast<size_t>(index)]);
  }

  api::OpenAiGeneration c_;
  bool chat_;
  std::string id_;
  std::int64_t created_ = 0;
  std::vector<bool> sent_role_;         // by choice
  std::vector<std::int64_t> offsets_;   // by choice: completions' text_offset so far
  std::vector<size_t> calls_sent_;      // by choice: tool calls streamed so far (delta indexes)
};

Response chat_completions(ApiContext& api, const Request& http) {
  const json::object body = parse_body_object(http.body);
  api::ChatCompletionRequest c = api::parse_chat_completion(body);
  GenerationRequest r = generation_request(c);
  r.messages = std::move(c.messages);
  r.chat = std::move(c.chat);
  if (auto route = choose_route(api, http, c.model)) {  // a desktop agent or a remote engine
    r.model = route->model;
    auto capture = capture_chat(api, http, body, r, "openai");
    const int n = c.n;
    return run_generation(api, http, std::move(r), std::make_shared<ChatWriter>(std::move(c), true),
                          std::move(capture), route->target, n);
  }
  const library::ResolvedModel m = api.library.resolve(http.caller.user_id, c.model);
  if (m.remote()) return forward_remote_chat(api, http, body, m);  // trained by a remote API
  use_model(r, m);
  auto capture = capture_chat(api, http, body, r, "openai");
  const int n = c.n;
  return run_generation(api, http, std::move(r), std::make_shared<ChatWriter>(std::move(c), true),
                        std::move(capture), nullptr, n);
}

Response completions(ApiContext& api, const Request& http) {
  api::CompletionRequest c = api::parse_completion(parse_body_object(http.body));
  GenerationRequest r = generation_request(c);
  if (!c.max_tokens) r.max_tokens = 16;  // OpenAI's default for this endpoint
  r.prompt = std::move(c.prompt);
  r.apply_template = false;
  const library::ResolvedModel m = api.library.resolve(http.caller.user_id, c.model);
  use_model(r, m);
  const int n = c.n;
  return run_generation(api, http, std::move(r), std::make_shared<ChatWriter>(std::move(c), false),
                        nullptr, nullptr, n);
}

std::string base64_floats(const std::vector<float>& v) {
  std::string bytes(v.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian, as OpenAI sends it
  return base64_encode(bytes);
}

Response embeddings(ApiContext& api, const Request& http) {
  const api::EmbeddingsRequest e = api::parse_embeddings(parse_body_object(http.body));
  EmbeddingRequest r;
  const std::string model = e.model;
  const std::string format = e.base64 ? "base64" : "float";
  r.inputs = e.input;
  r.truncate = false;
  r.keep_alive = e.keep_alive;
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
