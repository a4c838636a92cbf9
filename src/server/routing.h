// Where a chat runs (issue: desktop connector and remote engines). A hub serves a request on
// its own scheduler, on one of the caller's desktop agents (desktop_hub.h) or on a remote
// OpenAI-compatible engine (remote_engines.h); the choice is made before the hub's own library
// resolves the model, because the model may exist only on the agent or the remote.
//
// Policy (the user's setting "route", overridden per request by the X-Hearth-Route header):
//   desktop-then-local  (default) an agent of the caller that has the model, else a remote
//                       engine that serves it, else this machine
//   desktop-only        an agent or a remote engine; 503 when none serves the model now
//   local-only          this machine only
#pragma once

#include <boost/json/array.hpp>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "db/db.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace hearth::server {

struct ApiContext;

enum class RoutePolicy { desktop_then_local, desktop_only, local_only };
std::string_view to_string(RoutePolicy p);
// "desktop-then-local" / "desktop-only" / "local-only"; Error(invalid_input) otherwise, naming
// `what` (the header or the setting).
RoutePolicy route_policy_from(std::string_view text, std::string_view what);

// Each user's stored policy, remembered for a while: a chat must not wait on a busy database
// to learn it (the database is read again after kFresh, and at once after the user changes it).
class RoutePolicyCache {
 public:
  static constexpr std::chrono::seconds kFresh{30};
  RoutePolicy get(const db::Database& db, std::int64_t user_id);
  void forget(std::int64_t user_id);

 private:
  std::mutex mutex_;
  std::unordered_map<std::int64_t, std::pair<RoutePolicy, std::chrono::steady_clock::time_point>>
      cache_;
};

// Something other than this machine's scheduler that runs generations: an agent's link or a
// remote engine. Its events follow Scheduler::submit's contract (token events, then exactly one
// done or error; any thread; `request.cancelled` is honoured). submit() itself never blocks on
// the network.
class GenerationTarget {
 public:
  virtual ~GenerationTarget() = default;
  virtual void submit(GenerationRequest request, GenerationSink sink) = 0;
  // For messages and listings: "desktop 'laptop'", "remote 'vllm'".
  virtual std::string where() const = 0;
};

struct Route {
  std::shared_ptr<GenerationTarget> target;
  std::string model;  // the name the target knows the model by (GenerationRequest::model)
};

// Where the routing asks for targets besides the desktop agents: the owner's remote engines
// (remote_engines.h implements it).
class RouteSource {
 public:
  virtual ~RouteSource() = default;
  // A target that serves `model` for this user now, or nullopt.
  virtual std::optional<Route> route(std::int64_t user_id, const std::string& model) = 0;
  // For GET /api/desktop/models: [{"name", "where": "remote", "remote": NAME, "healthy"}].
  virtual boost::json::array models(std::int64_t user_id) = 0;
};

// The route for the caller's chat with `model`: nullopt means this machine. Error(unavailable)
// under desktop-only when nothing serves the model now; Error(invalid_input) for a bad
// X-Hearth-Route header.
std::optional<Route> choose_route(ApiContext& api, const Request& http, const std::string& model);

// The models the caller's chats may be routed to besides this machine's (GET /api/desktop/models'
// "desktop" and "remote" entries), one per name, the first place first; empty under local-only.
// For the model lists of /v1/models and /api/tags.
boost::json::array routed_models(ApiContext& api, const Request& http);

}  // namespace hearth::server
