// See remote_engines_stream.h.
#include "server/remote_engines_stream.h"

#include <boost/json.hpp>

#include <algorithm>
#include <limits>

#include "core/json_text.h"
#include "core/log.h"
#include "loop/remote_http.h"

namespace hearth::server::remote_detail {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// A failure that counts against the engine, with the status when the remote answered one.
bool counts_against_engine(long status) {
  // 400 and 422 say the request itself was wrong (a setting the engine does not take): that is
  // the caller's problem, not a sign that the engine is down.
  return status != 400 && status != 422;
}

}  // namespace

// ---- Engine ----------------------------------------------------------------------------------

std::string Engine::label() const {
  return "remote '" + row.name + "' (" + row.base_url + ")";
}

void Engine::record_success(std::string_view what) {
  if (auto moved = breaker.success())
    spdlog::info("{}: circuit {} after a successful {}", label(), to_string(*moved), what);
}

void Engine::record_failure(std::string_view what, const std::string& error) {
  if (auto moved = breaker.failure())
    spdlog::warn("{}: circuit {} after {} failed ({} failures in a row): {}", label(),
                 to_string(*moved), what, breaker.consecutive_failures(), error);
  else
    spdlog::debug("{}: {} failed: {}", label(), what, error);
}

std::vector<std::string> Engine::served_models() const {
  if (!row.models.empty()) return row.models;
  std::lock_guard lock(mutex_);
  return discovered_;
}

void Engine::set_discovered(std::vector<std::string> names) {
  std::lock_guard lock(mutex_);
  discovered_ = std::move(names);
}

// ---- Workers ---------------------------------------------------------------------------------

Workers::Workers(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { loop(); });
}

Workers::~Workers() { stop(); }

bool Workers::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void Workers::stop() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  // RemoteEngines::stop() gets here while it still holds the Workers, so no job (whose target
  // also holds them) can be dropping the last reference on one of these threads.
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  // A queued job sees stopping() and ends with its error event at once.
  for (auto& job : dropped) job();
}

void Workers::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

// ---- the request -----------------------------------------------------------------------------

bool uses_tools(const GenerationRequest& r) {
  if (r.chat.offers_tools()) return true;
  for (const auto& m : r.messages)
    if (m.role == "tool" || !m.tool_calls.empty()) return true;
  return false;
}

RemoteCall remote_call(const GenerationRequest& r, const std::string& model) {
  json::object body;
  body["model"] = model;
  RemoteCall call;
  if (r.messages.empty() && !r.apply_template) {
    call.path = "/completions";
    body["prompt"] = r.prompt;
  } else {
    call.path = "/chat/completions";
    json::array messages;
    auto add = [&messages](const std::string& role, const std::string& content) {
      messages.push_back(json::object{{"role", role}, {"content", content}});
    };
    if (r.messages.empty()) {
      if (!r.system.empty()) add("system", r.system);
      add("user", r.prompt);
    }
    for (const auto& m : r.messages) add(m.role, m.content);
    body["messages"] = std::move(messages);
  }
  body["stream"] = true;
  body["stream_options"] = json::object{{"include_usage", true}};
  const auto& s = r.sampling;
  body["temperature"] = s.greedy ? 0.0 : static_cast<double>(s.temperature);
  body["top_p"] = static_cast<double>(s.top_p);
  if (s.seed <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    body["seed"] = static_cast<std::int64_t>(s.seed);
  if (s.presence_penalty != 0) body["presence_penalty"] = static_cast<double>(s.presence_penalty);
  if (s.frequency_penalty != 0)
    body["frequency_penalty"] = static_cast<double>(s.frequency_penalty);
  if (r.max_tokens > 0) body["max_tokens"] = r.max_tokens;
  if (!r.stop.empty()) {
    json::array stop;
    for (const auto& x : r.stop) stop.emplace_back(x);
    body["stop"] = std::move(stop);
  }
  // The schema was compiled when the request came in, so it parses; should it not, the
  // engine is asked for any JSON object rather than nothing.
  boost::system::error_code schema_error;
  const json::value schema =
      r.json_schema.empty() ? json::value() : json::parse(r.json_schema, schema_error);
  if (!r.json_schema.empty() && !schema_error) {
    body["response_format"] = json::object{
        {"type", "json_schema"},
        {"json_schema", json::object{{"name", "output"}, {"strict", true}, {"schema", schema}}}};
  } else if (r.json_object) {
    body["response_format"] = json::object{{"type", "json_object"}};
  }
  call.body = format_json(body);
  return call;
}

// ---- the answer ------------------------------------------------------------------------------

void SseReader::feed(std::string_view bytes) {
  if (overflowed_) return;
  // Only the new bytes are searched for a newline: a long line arriving in many small pieces
  // costs its length once, not once per piece.
  std::size_t from = pending_.size();
  pending_.append(bytes);
  std::size_t start = 0;
  for (std::size_t nl; (nl = pending_.find('\n', from)) != std::string::npos; start = from = nl + 1) {
    if (nl - start > kMaxLineBytes) break;  // refused below, however the bytes were cut
    std::string_view l(pending_.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(l);
  }
  pending_.erase(0, start);
  if (pending_.size() > kMaxLineBytes) {
    overflowed_ = true;
    pending_.clear();
    error_ = "the answer has a line longer than " + std::to_string(kMaxLineBytes >> 20) + " MiB";
  }
}

void SseReader::finish() {
  if (!overflowed_ && !pending_.empty()) line(pending_);
  pending_.clear();
}

void SseReader::line(std::string_view text) {
  if (!text.starts_with("data:")) return;  // comments, event names, blank separators
  text.remove_prefix(5);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text == "[DONE]") {
    done_ = true;
    return;
  }
  const auto value = parse_json(text);
  if (!value || !value->is_object()) return;
  const auto& chunk = value->as_object();
  if (const auto* e = chunk.if_contains("error")) {
    error_ = error_text(format_json(chunk));
    if (error_.empty()) error_ = format_json(*e);
    return;
  }
  if (const auto* usage = chunk.if_contains("usage"); usage && usage->is_object()) {
    const auto& u = usage->as_object();
    if (const auto* p = u.if_contains("prompt_tokens"); p && p->is_int64())
      prompt_tokens_ = static_cast<int>(p->as_int64());
    if (const auto* c = u.if_contains("completion_tokens"); c && c->is_int64())
      completion_tokens_ = static_cast<int>(c->as_int64());
  }
  const auto* choices = chunk.if_contains("choices");
  if (!choices || !choices->is_array() || choices->as_array().empty()) return;
  const auto& first = choices->as_array().front();
  if (!first.is_object()) return;
  const auto& choice = first.as_object();
  std::string text_out;
  if (const auto* delta = choice.if_contains("delta"); delta && delta->is_object()) {
    if (const auto* c = delta->as_object().if_contains("content"); c && c->is_string())
      text_out = std::string(c->as_string());
  } else if (const auto* t = choice.if_contains("text"); t && t->is_string()) {
    text_out = std::string(t->as_string());
  }
  if (!text_out.empty()) {
    ++tokens_seen_;
    on_token_(std::move(text_out));
  }
  if (const auto* f = choice.if_contains("finish_reason"); f && f->is_string())
    finish_reason_ = std::string(f->as_string());
}

std::string error_text(const std::string& body) {
  if (const auto v = parse_json(body); v && v->is_object()) {
    const auto& o = v->as_object();
    for (const char* key : {"error", "detail", "message"}) {
      const auto* e = o.if_contains(key);
      if (!e) continue;
      if (e->is_string()) return std::string(e->as_string());
      if (e->is_object())
        if (const auto* m = e->as_object().if_contains("message"); m && m->is_string())
          return std::string(m->as_string());
    }
  }
  std::string head = body.substr(0, 200);
  while (!head.empty() && (head.back() == '\n' || head.back() == '\r')) head.pop_back();
  return head;
}

// ---- the target ------------------------------------------------------------------------------

namespace {

class RemoteTarget final : public GenerationTarget,
                           public std::enable_shared_from_this<RemoteTarget> {
 public:
  RemoteTarget(std::shared_ptr<Engine> engine, std::shared_ptr<Workers> workers,
               StreamOptions options)
      : engine_(std::move(engine)), workers_(std::move(workers)), options_(options) {}

  void submit(GenerationRequest request, GenerationSink sink) override {
    const auto submitted = Clock::now();
    auto self = shared_from_this();
    auto shared_request = std::make_shared<GenerationRequest>(std::move(request));
    auto shared_sink = std::make_shared<GenerationSink>(std::move(sink));
    const bool queued = workers_->post([self, shared_request, shared_sink, submitted] {
      self->run(*shared_request, *shared_sink, submitted);
    });
    if (!queued) fail(*shared_sink, "the server is shutting down");
  }

  std::string where() const override { return "remote '" + engine_->row.name + "'"; }

 private:
  void fail(GenerationSink& sink, const std::string& why) const {
    GenerationEvent e;
    e.kind = GenerationEvent::Kind::error;
    e.error_kind = ErrorKind::unavailable;
    e.error = engine_->label() + " failed: " + why;
    sink(std::move(e));
  }

  // The remote's own message without the base URL that label() already names.
  std::string without_base(std::string message) const {
    const std::string prefix = engine_->row.base_url + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    return message;
  }

  void run(const GenerationRequest& request, GenerationSink& sink,
           Clock::time_point submitted) const {
    auto cancelled = [&request] { return request.cancelled && request.cancelled->load(); };
    if (workers_->stopping()) return fail(sink, "the server is shutting down");
    if (cancelled()) return;
    if (uses_tools(request)) {
      // Calls would have to be read back from the remote's deltas; until they are, a clear
      // refusal beats an answer that silently ignores the tools.
      GenerationEvent e;
      e.kind = GenerationEvent::Kind::error;
      e.error_kind = ErrorKind::unsupported;
      e.error = engine_->label() + ": tools and tool messages are not forwarded to remote engines";
      return sink(std::move(e));
    }
    const RemoteCall call = remote_call(request, request.model);
    Clock::time_point first{}, last{};
    std::string error_body;
    long status = 0;
    SseReader reader([&](std::string text) {
      last = Clock::now();
      if (first == Clock::time_point{}) first = last;
      GenerationEvent e;
      e.text = std::move(text);
      sink(std::move(e));
    });
    loop::RemoteAccess access = engine_->access;
    access.connect_timeout_ms = options_.connect_timeout_ms;
    access.idle_timeout_s = options_.idle_timeout_s;
    const std::string what = "chat";
    try {
      status = loop::RemoteApi(access).post_raw(
          call.path, call.body,
          [&](long code, std::string_view bytes) {
            if (code >= 200 && code <= 299) {
              reader.feed(bytes);
            } else if (error_body.size() < 4096) {
              error_body.append(bytes);
            }
          },
          [&] { return cancelled() || workers_->stopping(); });
    } catch (const std::exception& e) {
      if (cancelled()) return;  // the client went away: no event is owed, the engine is fine
      if (workers_->stopping()) return fail(sink, "the server is shutting down");
      const std::string why = without_base(e.what());
      engine_->record_failure(what, why);
      return fail(sink, why);
    }
    if (cancelled()) return;
    if (status < 200 || status > 299) {
      const std::string message = error_text(error_body);
      const std::string why = "POST " + call.path + " answered " + std::to_string(status) +
                              (message.empty() ? "" : ": " + message);
      if (counts_against_engine(status)) engine_->record_failure(what, why);
      return fail(sink, why);
    }
    reader.finish();
    if (!reader.error().empty()) {
      const std::string why = "POST " + call.path + ": " + reader.error();
      engine_->record_failure(what, why);
      return fail(sink, why);
    }
    if (!reader.ended()) {
      const std::string why = "POST " + call.path + ": the stream ended before its last chunk";
      engine_->record_failure(what, why);
      return fail(sink, why);
    }
    engine_->record_success(what);
    const auto end = Clock::now();
    GenerationEvent done;
    done.kind = GenerationEvent::Kind::done;
    done.finish_reason = reader.finish_reason().empty() ? "stop" : reader.finish_reason();
    done.timings.prompt_tokens = reader.prompt_tokens();
    done.timings.completion_tokens =
        reader.completion_tokens() > 0 ? reader.completion_tokens() : reader.tokens_seen();
    done.timings.total_ns = ns_between(submitted, end);
    if (first != Clock::time_point{}) {
      done.timings.prompt_ns = ns_between(submitted, first);
      done.timings.eval_ns = ns_between(first, last);
    }
    sink(std::move(done));
  }

  std::shared_ptr<Engine> engine_;
  std::shared_ptr<Workers> workers_;
  StreamOptions options_;
};

}  // namespace

std::shared_ptr<GenerationTarget> make_target(std::shared_ptr<Engine> engine,
                                              std::shared_ptr<Workers> workers,
                                              StreamOptions options) {
  return std::make_shared<RemoteTarget>(std::move(engine), std::move(workers), options);
}

}  // namespace hearth::server::remote_detail
