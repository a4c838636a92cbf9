// Inside RemoteEngines (remote_engines.h): one engine as the hub knows it, the threads chats
// stream on, the OpenAI request a GenerationRequest becomes, and the reader of the SSE answer.
//
// The request (remote_call): POST /chat/completions with "messages" (a prompt with
// apply_template becomes one user message after `system`), or POST /completions with "prompt"
// for raw text; always "stream": true and "stream_options": {"include_usage": true}; "model"
// the engine's name for it; temperature (0 when greedy), top_p, seed, presence_penalty,
// frequency_penalty; max_tokens only when > 0; stop when any; response_format json_object for
// JSON mode, or json_schema (name "output", strict) with the request's schema.
//
// The answer (SseReader): "data: {chunk}" lines; choices[0].delta.content (chat) or
// choices[0].text (completions) become token events; choices[0].finish_reason and the usage
// chunk's prompt_tokens/completion_tokens the done event; "data: [DONE]" ends it. A chunk with
// "error" is the remote's failure. A line longer than SseReader::kMaxLineBytes is refused as an
// error (the rest of the answer is then ignored): no chunk is that large, and holding one would let
// a broken remote grow the server's memory without end.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "db/remote_engines.h"
#include "loop/remote_settings.h"
#include "server/remote_engines_breaker.h"
#include "server/routing.h"

namespace hearth::server::remote_detail {

struct Engine {
  Engine(db::RemoteEngineRow r, loop::RemoteAccess a, int threshold,
         std::chrono::milliseconds cooldown)
      : row(std::move(r)), access(std::move(a)), breaker(threshold, cooldown) {}

  db::RemoteEngineRow row;
  loop::RemoteAccess access;  // the key opened, owner_named set
  CircuitBreaker breaker;

  // "remote 'vllm' (http://10.0.0.5:8000/v1)": how messages and logs name it (never the key).
  std::string label() const;
  // Feeds the breaker one outcome and logs a transition; `what` says what failed.
  void record_success(std::string_view what);
  void record_failure(std::string_view what, const std::string& error);

  // The configured names, else the ones its GET /models gave last.
  std::vector<std::string> served_models() const;
  void set_discovered(std::vector<std::string> names);

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> discovered_;
};

// A few threads for the chats' blocking transfers; post() refuses once stop() began.
class Workers {
 public:
  explicit Workers(int threads);
  ~Workers();  // stop()
  bool post(std::function<void()> job);
  // Sets stopping (transfers in flight poll it and end), joins the threads, then runs what was
  // still queued on the caller's thread: each such job sees stopping() and only sends its error
  // event.
  void stop();
  bool stopping() const { return stopping_; }

 private:
  void loop();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

struct RemoteCall {
  std::string path;  // "/chat/completions" or "/completions"
  std::string body;  // JSON text
};
RemoteCall remote_call(const GenerationRequest& request, const std::string& model);

class SseReader {
 public:
  static constexpr std::size_t kMaxLineBytes = 4u << 20;
  explicit SseReader(std::function<void(std::string text)> on_token)
      : on_token_(std::move(on_token)) {}
  void feed(std::string_view bytes);
  void finish();  // the transfer ended: a last line without its newline is read too

  bool ended() const { return done_ || !finish_reason_.empty(); }  // [DONE] or a finish_reason
  const std::string& finish_reason() const { return finish_reason_; }
  int prompt_tokens() const { return prompt_tokens_; }
  int completion_tokens() const { return completion_tokens_; }
  int tokens_seen() const { return tokens_seen_; }
  const std::string& error() const { return error_; }  // the remote's, from an error chunk

 private:
  void line(std::string_view text);
  std::function<void(std::string)> on_token_;
  std::string pending_;  // the start of a line whose newline has not arrived (holds no '\n')
  bool overflowed_ = false;
  bool done_ = false;
  std::string finish_reason_;
  int prompt_tokens_ = 0, completion_tokens_ = 0, tokens_seen_ = 0;
  std::string error_;
};

// Whether a request offers tools or carries tool calls or results (not forwarded to remotes).
bool uses_tools(const GenerationRequest& request);

// The error text of an HTTP error answer: the body's error.message (or error, or detail), else
// its first 200 bytes.
std::string error_text(const std::string& body);

struct StreamOptions {
  long connect_timeout_ms = 5'000;
  long idle_timeout_s = 60;
};

std::shared_ptr<GenerationTarget> make_target(std::shared_ptr<Engine> engine,
                                              std::shared_ptr<Workers> workers,
                                              StreamOptions options);

}  // namespace hearth::server::remote_detail
