// Remote engines: OpenAI-compatible servers (vLLM, llama-server, Ollama's /v1, another `hearth
// serve`) that the machine's owner registered with `hearth remote add` (db/remote_engines.h), to
// which the hub routes chats for the models they serve (routing.h's choose_route calls route()).
//
//   - Rows are re-read from the database every ~2 s (on a thread of their own once started, so
//     that route() never waits on a busy database), so an engine added or removed on a running
//     hub counts within seconds. An engine given to a user serves only that user; a
//     shared one (no user) serves everyone. Keys are opened (loop/remote_settings.h) only into
//     the Authorization header of calls to that engine.
//   - A background thread checks every engine each HEARTH_REMOTE_HEALTH_INTERVAL seconds with
//     GET {base}/models (short timeouts); the answer also gives the model list of an engine
//     registered without one.
//   - Each engine has a circuit breaker (remote_engines_breaker.h): 3 failures in a row, chats
//     or checks, open it for HEARTH_REMOTE_COOLDOWN seconds, during which route() passes it by;
//     then one trial decides. Transitions are logged.
//   - A Route's target streams POST {base}/chat/completions (or /completions for a raw prompt)
//     on a few threads of its own, so submit() never waits on the network; see
//     remote_engines_stream.h for the request and the events.
#pragma once

#include <boost/json/array.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/db.h"
#include "server/routing.h"

namespace hearth::server {

namespace remote_detail {
struct Engine;
class Workers;
}  // namespace remote_detail

class RemoteEngines final : public RouteSource {
 public:
  struct Options {
    std::chrono::milliseconds health_interval{15'000};  // HEARTH_REMOTE_HEALTH_INTERVAL
    std::chrono::milliseconds cooldown{30'000};         // HEARTH_REMOTE_COOLDOWN
    int failure_threshold = 3;
    std::chrono::milliseconds refresh_after{2'000};     // rows older than this are re-read
    std::chrono::milliseconds health_timeout{5'000};    // one GET /models, connecting included
    std::chrono::milliseconds connect_timeout{5'000};   // a chat's connection
    std::chrono::seconds idle_timeout{60};              // a chat stream silent this long fails
    int threads = 16;                                   // chats streaming at once; more wait
  };
  static Options options_from_config();

  explicit RemoteEngines(db::Database db, Options options = options_from_config());
  ~RemoteEngines() override;  // stop()
  RemoteEngines(const RemoteEngines&) = delete;
  RemoteEngines& operator=(const RemoteEngines&) = delete;

  // Starts the health checks (route() works without them, trusting engines until they fail).
  void start();
  // Ends the health checks and every chat in flight (their sinks get an error event); submits
  // afterwards are answered with an error event at once.
  void stop();

  // An engine given to this user or shared, whose circuit is not open, that serves `model`
  // ("name" and "name:latest" are the same model); nullopt when none does now.
  std::optional<Route> route(std::int64_t user_id, const std::string& model) override;
  // For GET /api/desktop/models: [{"name", "where": "remote", "remote": NAME, "healthy": bool}]
  // for every model of every engine this user may use.
  boost::json::array models(std::int64_t user_id) override;

  // Runs one round of health checks now, on the caller's thread (tests).
  void check_now();

 private:
  std::vector<std::shared_ptr<remote_detail::Engine>> engines_for(std::int64_t user_id);
  void refresh(bool force);
  void health_loop();
  void refresh_loop();

  db::Database db_;
  Options options_;
  std::shared_ptr<remote_detail::Workers> workers_;
  std::mutex mutex_;  // engines_, refreshed_at_
  std::map<std::string, std::shared_ptr<remote_detail::Engine>> engines_;  // by name
  std::chrono::steady_clock::time_point refreshed_at_{};
  std::set<std::string> unopened_keys_;  // rows whose key did not open (warned once)
  std::mutex refresh_mutex_;  // one database read at a time
  std::mutex health_mutex_;
  std::condition_variable health_wake_;
  bool stopping_ = false;
  bool started_ = false;  // the rows are re-read by refresher_, not by requests
  std::thread health_;
  std::thread refresher_;
};

}  // namespace hearth::server
