// See inference.h.
#include "server/inference.h"

#include <cmath>
#include <mutex>
#include <random>

#include "core/duration.h"
#include "core/log.h"
#include "server/conversation_capture.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

[[noreturn]] void bad_keep_alive(std::string_view text) {
  throw Error(ErrorKind::invalid_input,
              "field 'keep_alive' must be a number of seconds or a duration such as \"5m\", "
              "\"1h\", \"30s\" or \"-1\" (got '" + std::string(text) + "')");
}

float checked_float(const json::object& o, std::string_view field, double lo, double hi) {
  const double v = *opt_number(o, field);
  if (!std::isfinite(v) || v < lo || v > hi)
    throw Error(ErrorKind::invalid_input, "field '" + std::string(field) + "' must be between " +
                                              number_text(lo) + " and " + number_text(hi));
  return static_cast<float>(v);
}

}  // namespace

void refuse_tools(const json::object& body) {
  const auto it = body.find("tools");
  if (it == body.end() || it->value().is_null()) return;
  if (it->value().is_array() && it->value().get_array().empty()) return;
  throw Error(ErrorKind::unsupported, "field 'tools': tools are not supported yet");
}

std::chrono::milliseconds parse_keep_alive(const json::value& value) {
  if (value.is_string()) {
    const auto d = parse_duration(value.as_string());
    if (!d) bad_keep_alive(value.as_string());
    return *d;
  }
  if (value.is_number()) {
    const double seconds = value.to_number<double>();
    if (std::isnan(seconds)) bad_keep_alive(json_text(value));
    // Negative, or longer than a clock can hold: forever (core/duration.h).
    if (seconds < 0 || seconds * 1000 > static_cast<double>(kLongestDuration.count()))
      return std::chrono::milliseconds(-1);
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  bad_keep_alive(json_text(value));
}

std::optional<std::chrono::milliseconds> opt_keep_alive(const json::object& body) {
  const auto it = body.find("keep_alive");
  if (it == body.end() || it->value().is_null()) return std::nullopt;
  return parse_keep_alive(it->value());
}

void apply_ollama_options(const json::object& o, GenerationRequest& r) {
  auto& s = r.sampling;
  if (o.contains("temperature") && !o.at("temperature").is_null())
    s.temperature = checked_float(o, "temperature", 0, 100);
  if (auto v = opt_int(o, "top_k")) {
    if (*v < 0) throw Error(ErrorKind::invalid_input, "field 'top_k' must be 0 or more");
    s.top_k = static_cast<int>(std::min<std::int64_t>(*v, 1 << 30));
  }
  if (o.contains("top_p") && !o.at("top_p").is_null()) s.top_p = checked_float(o, "top_p", 0, 1);
  if (s.top_p == 0) s.top_p = 1e-6f;
  if (o.contains("min_p") && !o.at("min_p").is_null()) s.min_p = checked_float(o, "min_p", 0, 1);
  if (o.contains("repeat_penalty") && !o.at("repeat_penalty").is_null())
    s.repeat_penalty = checked_float(o, "repeat_penalty", 1e-6, 100);
  if (auto v = opt_int(o, "repeat_last_n")) {
    if (*v < -1) throw Error(ErrorKind::invalid_input, "field 'repeat_last_n' must be -1 or more");
    s.repeat_last_n = static_cast<int>(std::min<std::int64_t>(*v, 1 << 30));
  }
  if (o.contains("presence_penalty") && !o.at("presence_penalty").is_null())
    s.presence_penalty = checked_float(o, "presence_penalty", -100, 100);
  if (o.contains("frequency_penalty") && !o.at("frequency_penalty").is_null())
    s.frequency_penalty = checked_float(o, "frequency_penalty", -100, 100);
  if (auto v = opt_int(o, "seed"); v && *v >= 0) s.seed = static_cast<std::uint64_t>(*v);
  if (auto stop = opt_string_list(o, "stop")) r.stop = *stop;
  if (auto v = opt_int(o, "num_ctx")) {
    if (*v < 1 || *v > (1 << 24))
      throw Error(ErrorKind::invalid_input, "field 'num_ctx' must be between 1 and 16777216");
    r.num_ctx = static_cast<int>(*v);
  }
  if (auto v = opt_int(o, "num_predict")) {
    // Ollama: -1 generates until the end, -2 until the context is full; both mean no limit here.
    if (*v < -2) throw Error(ErrorKind::invalid_input, "field 'num_predict' must be -2 or more");
    r.max_tokens = *v < 0 ? -1 : static_cast<int>(std::min<std::int64_t>(*v, 1 << 30));
  }
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
    } catch (const std::exception& e) {
      // Usage counters must never fail a request that has already been answered.
      SPDLOG_WARN("could not record usage of {}: {}", model, e.what());
    }
  });
}

Response run_embeddings(ApiContext& api, const Request& http_request, const std::string& model,
                        EmbeddingRequest request,
                        std::function<Response(const EmbeddingResult&)> answer) {
  const ResolvedModel m = api.library.resolve(http_request.caller.user_id, model);
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

Response run_generation(ApiContext& api, const Request& http_request, GenerationRequest request,
                        std::shared_ptr<GenerationWriter> writer,
                        std::shared_ptr<ConversationCapture> capture) {
  auto out = std::make_shared<ResponseStream>();
  request.cancelled = out->cancel_flag();
  struct State {
    std::string text;  // everything generated (whole answers, and kept conversations)
  };
  auto state = std::make_shared<State>();
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
  GenerationSink sink = [out, writer, state, path, user_id, model, ctx, capture,
                         head](GenerationEvent&& e) {
    switch (e.kind) {
      case GenerationEvent::Kind::token:
        if (!writer->streaming() || capture) state->text += e.text;
        if (!writer->streaming()) return;
        if (!out->started()) out->start(200, writer->content_type(), head());
        out->write(writer->piece(e.text));
        return;
      case GenerationEvent::Kind::done: {
        record_usage(*ctx, user_id, model, e.timings);
        ResponseStream::Headers headers = head();
        if (capture && capture->conversation_id() > 0) {
          const std::int64_t message_id = capture->finish(state->text, e.timings);
          writer->hearth = json::object{{"conversation_id", capture->conversation_id()},
                                        {"message_id", message_id}};
          headers.emplace_back("X-Hearth-Message-Id", std::to_string(message_id));
        }
        if (!writer->streaming()) {
          Response r;
          r.body = writer->done(state->text, e);
          r.headers = std::move(headers);
          out->respond(r);
          return;
        }
        if (!out->started()) out->start(200, writer->content_type(), headers);
        out->write(writer->done({}, e));
        out->finish();
        return;
      }
      case GenerationEvent::Kind::error:
        if (!out->started()) {
          out->respond(error_response(path, status_for(e.error_kind), e.error_kind, e.error));
        } else {
          out->write(writer->midstream_error(public_message(e.error)));
          out->finish();
        }
        return;
    }
  };
  api.scheduler.submit(std::move(request), std::move(sink));
  Response r;
  r.stream = std::move(out);
  return r;
}

}  // namespace hearth::server
