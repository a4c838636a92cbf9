// The API's shared state and how its route groups are put together (see server.h for the
// router, scheduler.h for inference, library/library.h for the per-user model library, auth.h
// for callers).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/thread_pool.h"
#include "db/db.h"
#include "library/library.h"
#include "server/auth.h"
#include "server/routing.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace hearth::store {
class Store;
}
namespace hearth::loop {
class JobRunner;
}

namespace hearth::server {

class DesktopHub;
class RouteSource;

// Request counters for /metrics, by route family.
struct ApiCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};  // answered with a status >= 400
  std::atomic<std::uint64_t> streams_cancelled{0};
};

struct ApiContext {
  store::Store& store;
  db::Database db;
  library::Library& library;
  Scheduler& scheduler;
  Authenticator& auth;
  ApiCounters counters;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  // The background trainer (loop/runner.h), woken when a job is queued or cancelled; null when
  // this server runs no jobs (they wait for one that does).
  loop::JobRunner* training = nullptr;
  // Where chats may be routed besides this machine (routing.h): the callers' desktop agents
  // (desktop_hub.h) and the owner's remote engines (a RouteSource, remote_engines.h); null: none.
  DesktopHub* desktops = nullptr;
  RouteSource* remotes = nullptr;
  RoutePolicyCache route_policies{};  // each user's stored route policy (routing.h)
  // Runs bookkeeping (usage counters) off the model loops, one job after another. Declared
  // last: destroyed first, finishing what was queued while the rest is still alive.
  ThreadPool background{1};
};

// Every route: public ones (/, /api/version) and the authenticated rest.
Router make_api_router(ApiContext& api);

// Route groups (each in its own file).
void add_web_routes(Router& router);  // /, /chat, /personal-models, /training, /assets/* (public)
void add_openai_routes(Router& router, ApiContext& api);     // /v1/chat/completions, /v1/completions, /v1/embeddings
void add_ollama_routes(Router& router, ApiContext& api);     // /api/chat, /api/generate, /api/embed, /api/embeddings
void add_library_routes(Router& router, ApiContext& api);    // /api/tags, /v1/models, /api/show, /api/ps, /api/pull, /api/delete, /api/copy
void add_personal_routes(Router& router, ApiContext& api);   // /api/personal-models*, /api/catalog, /api/hardware, /api/desktop/*
void add_metrics_route(Router& router, ApiContext& api);     // /metrics
void add_conversation_routes(Router& router, ApiContext& api);  // /api/conversations*, /api/settings, /api/training/ (data)
void add_training_routes(Router& router, ApiContext& api);  // /api/training/ (jobs, deploy), versions, rollback, compare
void add_files_routes(Router& router, ApiContext& api);       // /v1/files* (OpenAI Files API, uploads streamed to disk)
void add_remote_training_routes(Router& router, ApiContext& api);  // /api/training/remote (the user's remote trainer)
void add_fine_tuning_routes(Router& router, ApiContext& api);
// POST /api/create and the blob routes it builds from (routes_create.cpp, routes_blobs.cpp).
void add_create_routes(Router& router, ApiContext& api);
void add_blob_routes(Router& router, ApiContext& api);  // POST/HEAD /api/blobs/{digest}
void add_desktop_routes(Router& router, ApiContext& api);  // /api/desktop/register, agents, /ws/desktop (desktop_hub.h)  // /v1/fine_tuning/jobs* (OpenAI fine-tuning API, local trainer)

}  // namespace hearth::server
