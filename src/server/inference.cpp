// See inference.h.
#include "server/inference.h"

#include <algorithm>
#include <mutex>
#include <vector>
#include <random>

#include "core/log.h"
#include "server/conversation_capture.h"
#include "server/response_stream.h"

namespace hearth::server {

void apply_options(const api::Options& o, GenerationRequest& r) {
  auto& s = r.sampling;
  auto as_int = [](std::int64_t v) { return static_cast<int>(std::min<std::int64_t>(v, 1 << 30)); };
  if (o.temperature) s.temperature = static_cast<float>(*o.temperature);
  if (o.top_k) s.top_k = as_int(*o.top_k);
  if (o.top_p) s.top_p = *o.top_p == 0 ? 1e-6f : static_cast<float>(*o.top_p);
  if (o.min_p) s.min_p = static_cast<float>(*o.min_p);
  if (o.repeat_penalty) s.repeat_penalty = static_cast<float>(*o.repeat_penalty);
  if (o.repeat_last_n) s.repeat_last_n = as_int(*o.repeat_last_n);
  if (o.presence_penalty) s.presence_penalty = static_cast<float>(*o.presence_penalty);
  if (o.frequency_penalty) s.frequency_penalty = static_cast<float>(*o.frequency_penalty);
  if (o.seed && *o.seed >= 0) s.seed = static_cast<std::uint64_t>(*o.seed);
  if (o.stop) r.stop = *o.stop;
  if (o.num_ctx) r.num_ctx = static_cast<int>(*o.num_ctx);
  if (o.num_gpu) r.num_gpu = as_int(*o.num_gpu);
  // Ollama: -1 generates until the end, -2 until the context is full; both mean no limit here.
  if (o.num_predict) r.max_tokens = *o.num_predict < 0 ? -1 : as_int(*o.num_predict);
}

void use_model(GenerationRequest& request, const library::ResolvedModel& model) {
  // A version trained by a remote API runs there: only the chat routes forward to it
  // (remote_chat.h); everything else would silently answer with the base.
  if (model.remote())
    throw Error(ErrorKind::unsupported, "'" + model.name + "' version " +
                                            std::to_string(model.version) +
                                            " is served by a remote API: remote versions are "
                                            "served through /v1/chat/completions and /api/chat");
  request.model = model.name;
  request.model_path = model.model_path.string();
  request.adapters.clear();
  for (const auto& a : model.adapters) request.adapters.push_back({a.string(), 1.0f});
  request.default_system = model.manifest.system;
}

void apply_default_system(GenerationRequest& request) {
  if (request.default_system.empty()) return;
  if (request.messages.empty()) {
    if (request.system.empty()) request.system = request.default_system;
    return;
  }
  for (const auto& m : request.messages)
    if (m.role == "system") return;
  chat::ChatMessage system;
  system.role = "system";
  system.content = request.default_system;
  request.messages.insert(request.messages.begin(), std::move(system));
}

std::uint64_t random_seed() { return generate::random_seed(); }

std::string random_id(std::string_view prefix) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static std::mutex mutex;
  static std::mt19937_64 rng(generate::random_seed());
  std::string id(prefix);
  std::lock_guard lock(mutex);
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

void record_usage(ApiContext& api, std::int64_t user_id, const std::string& model,
                  const Timings& timings) {
  // Called from a model's loop: the database write happens on the background thread so that no
  // running sequence waits for it.
  db::Database database = api.db;
  api.background.submit([database, user_id, model, timings] {
    try {
      db::ModelUsage(database).record(user_id, model, timings.prompt_tokens,
                                      timings.completion_tokens, timings.eval_ns);
      // One audit entry per generation: who used which model, and how much.
      db::AuditLog(database).record(
          user_id, "model.use", model,
          "{\"prompt_tokens\":" + std::to_string(timings.prompt_tokens) +
              ",\"completion_tokens\":" + std::to_string(timings.completion_tokens) + "}");
    } catch (const std::exception& e) {
      // Usage counters must never fail a request that has already been answered.
      SPDLOG_WARN("could not record usage of {}: {}", model, e.what());
    }
  });
}

Response run_embeddings(ApiContext& api, const Request& http_request, const std::string& model,
                        EmbeddingRequest request,
                        std::function<Response(const EmbeddingResult&)> answer) {
  const library::ResolvedModel m = api.library.resolve(http_request.caller.user_id, model);
  if (m.remote())
    throw Error(ErrorKind::unsupported, "'" + m.name + "' is served by a remote API, which "
                                        "hearth uses only for /v1/chat/completions and /api/chat");
  request.model = m.name;
  request.model_path = m.model_path.string();
  auto out = std::make_shared<ResponseStream>();
  request.cancelled = out->cancel_flag();
  ApiContext* ctx = &api;
  api.scheduler.submit(std::move(request), [out, ctx, path = http_request.path(),
                                            user_id = http_request.caller.user_id, name = m.name,
                                            answer = std::move(answer)](EmbeddingResult&& result) {
    if (!result.ok) {
      out->respond(error_response(path, status_for(result.error_kind), result.error_kind, result.error));
      return;
    }
    record_usage(*ctx, user_id, name, result.timings);
    out->respond(answer(result));
  });
  Response r;
  r.stream = std::move(out);
  return r;
}

std::shared_ptr<ConversationCapture> capture_chat(ApiContext& api, const Request& http_request,
                                                  const json::object& body,
                                                  const GenerationRequest& request,
                                                  const std::string& source) {
  // Tool conversations (tools offered, calls, results) are not kept: the conversation store and
  // the training data hold plain chats, and half of such a conversation would mislead both.
  if (request.chat.offers_tools()) return nullptr;
  for (const auto& m : request.messages)
    if (m.role == "tool" || !m.tool_calls.empty()) return nullptr;
  const auto& s = request.sampling;
  json::object parameters{{"temperature", s.temperature}, {"top_p", s.top_p}, {"top_k", s.top_k},
                          {"seed", s.seed},               {"max_tokens", request.max_tokens}};
  if (!request.stop.empty()) {
    json::array stop;
    for (const auto& x : request.stop) stop.emplace_back(json::string(x));
    parameters["stop"] = std::move(stop);
  }
  if (request.json_object) parameters["json_object"] = true;
  return ConversationCapture::begin(api.db, http_request, body, request.model, source,
                                    request.messages, json_text(parameters));
}

namespace {

// Every choice's usage as one request's: the prompt once (each choice decoded the same prompt),
// the completions together, and the times of the slowest.
Timings total_usage(const std::vector<ChoiceResult>& choices) {
  Timings t;
  for (size_t i = 0; i < choices.size(); ++i) {
    const Timings& c = choices[i].end.timings;
    if (i == 0) t.prompt_tokens = c.prompt_tokens;
    t.completion_tokens += c.completion_tokens;
    t.load_ns = std::max(t.load_ns, c.load_ns);
    t.prompt_ns = std::max(t.prompt_ns, c.prompt_ns);
    t.eval_ns = std::max(t.eval_ns, c.eval_ns);
    t.total_ns = std::max(t.total_ns, c.total_ns);
  }
  return t;
}

}  // namespace

Response run_generation(ApiContext& api, const Request& http_request, GenerationRequest request,
                        std::shared_ptr<GenerationWriter> writer,
                        std::shared_ptr<ConversationCapture> capture,
                        std::shared_ptr<GenerationTarget> target, int choices) {
  const int max_choices = api.scheduler.num_parallel();
  if (choices < 1 || choices > max_choices)
    throw Error(ErrorKind::invalid_input,
                "field 'n' must be between 1 and " + std::to_string(max_choices) +
                    " (HEARTH_NUM_PARALLEL: the sequences this server decodes at once)");
  if (target && request.logprobs)
    throw Error(ErrorKind::unsupported, "field 'logprobs' is not available for a model that runs on " +
                                            target->where() + " (only on this machine's models)");
  auto out = std::make_shared<ResponseStream>();
  request.cancelled = out->cancel_flag();
  // The prompt cache is each user's own (generate::Request::cache_owner).
  request.cache_owner = "user:" + std::to_string(http_request.caller.user_id);
  apply_default_system(request);
  struct State {
    std::mutex mu;  // choices of a routed request may report from different threads
    std::vector<ChoiceResult> choices;
    int running = 0;
    bool failed = false;  // an error ended the response; later events are dropped
    GenerationEvent kept;  // the first choice's text and reasoning, for a kept conversation
  };
  auto state = std::make_shared<State>();
  state->choices.resize(static_cast<size_t>(choices));
  state->running = choices;
  const std::string path = http_request.path();
  const std::int64_t user_id = http_request.caller.user_id;
  const std::string model = request.model;
  ApiContext* ctx = &api;
  // The conversation is stored only when output begins (conversation_capture.h): its id goes
  // into the head, so the head is made then.
  auto head = [capture] {
    ResponseStream::Headers h;
    if (capture && capture->commit() > 0)
      h.emplace_back("X-Hearth-Conversation-Id", std::to_string(capture->conversation_id()));
    return h;
  };
  auto deliver = [out, writer, state, path, user_id, model, ctx, capture,
                  head](int index, GenerationEvent&& e) {
    std::lock_guard lock(state->mu);
    if (state->failed) return;
    ChoiceResult& choice = state->choices[static_cast<size_t>(index)];
    switch (e.kind) {
      case GenerationEvent::Kind::token:
        for (auto& call : e.tool_calls)
          if (call.id.empty()) call.id = random_id("call_");
        if (capture && index == 0) {
          state->kept.text += e.text;
          state->kept.reasoning += e.reasoning;
        }
        if (!writer->streaming()) {
          choice.whole.text += e.text;
          choice.whole.reasoning += e.reasoning;
          for (auto& c : e.tool_calls) choice.whole.tool_calls.push_back(std::move(c));
          for (auto& t : e.logprobs) choice.whole.logprobs.push_back(std::move(t));
          return;
        }
        if (!out->started()) out->start(200, writer->content_type(), head());
        out->write(writer->piece(index, e));
        return;
      case GenerationEvent::Kind::done: {
        choice.end = std::move(e);
        if (--state->running > 0) {
          if (writer->streaming()) {
            if (!out->started()) out->start(200, writer->content_type(), head());
            out->write(writer->choice_done(index, choice.end));
          }
          return;
        }
        const Timings usage = total_usage(state->choices);
        record_usage(*ctx, user_id, model, usage);
        ResponseStream::Headers headers = head();
        if (capture && capture->conversation_id() > 0) {
          // The first choice is the one the conversation goes on with.
          const std::int64_t message_id = capture->finish(
              state->kept.text, state->kept.reasoning, state->choices[0].end.timings);
          writer->hearth = json::object{{"conversation_id", capture->conversation_id()},
                                        {"message_id", message_id}};
          headers.emplace_back("X-Hearth-Message-Id", std::to_string(message_id));
        }
        if (!writer->streaming()) {
          Response r;
          r.body = writer->done(state->choices, usage);
          r.headers = std::move(headers);
          out->respond(r);
          return;
        }
        if (!out->started()) out->start(200, writer->content_type(), headers);
        out->write(writer->choice_done(index, choice.end) + writer->done(state->choices, usage));
        out->finish();
        return;
      }
      case GenerationEvent::Kind::error:
        state->failed = true;
        if (!out->started()) {
          out->respond(error_response(path, status_for(e.error_kind), e.error_kind, e.error));
        } else {
          out->write(writer->midstream_error(public_message(e.error)));
          out->finish();
        }
        return;
    }
  };
  auto shared = std::make_shared<decltype(deliver)>(std::move(deliver));
  std::vector<GenerationRequest> requests;
  std::vector<GenerationSink> sinks;
  for (int i = 0; i < choices; ++i) {
    if (!capture) {
      sinks.emplace_back([shared, i](GenerationEvent&& e) { (*shared)(i, std::move(e)); });
    } else {
      // A kept chat's events go through the background thread, in order: storing the request
      // (at the first output) and the answer (at the end) may wait on the database, which the
      // model's loop must never do. The head and the final JSON carry the ids, so they wait too.
      sinks.emplace_back([shared, ctx, i](GenerationEvent&& e) {
        ctx->background.submit(
            [shared, i, e = std::move(e)]() mutable { (*shared)(i, std::move(e)); });
      });
    }
    requests.push_back(request);
    requests.back().sampling.seed += static_cast<std::uint64_t>(i);
  }
  if (!target) {
    // Queued together: admitted in the same step, decoded in the same batches.
    api.scheduler.submit(std::move(requests), std::move(sinks));
  } else {
    for (int i = 0; i < choices; ++i) {
      try {
        target->submit(std::move(requests[static_cast<size_t>(i)]),
                       std::move(sinks[static_cast<size_t>(i)]));
      } catch (...) {
        out->cancel();  // the choices sent already stop: nobody will read their answer
        throw;
      }
    }
  }
  Response r;
  r.stream = std::move(out);
  return r;
}

}  // namespace hearth::server
