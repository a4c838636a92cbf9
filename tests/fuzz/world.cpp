// The in-process server of the API, hub and agent targets (world.h).
#include "fuzz/world.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/config.h"
#include "library/library.h"
#include "server/desktop_hub.h"
#include "store/store.h"
#include "support/test_support.h"

namespace hearth::fuzz {

namespace fs = std::filesystem;

struct World::Parts {
  test::TempDir home;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<library::Library> library;
  std::unique_ptr<server::Scheduler> scheduler;
  std::unique_ptr<server::Authenticator> auth;
  std::unique_ptr<server::DesktopHub> hub;
  std::unique_ptr<server::ApiContext> api;
  server::Router router;
};

World& World::get() {
  static World world;
  return world;
}

World::World() : parts(std::make_unique<Parts>()) {
  Parts& p = *parts;
  const std::string home = p.home.path().string();
  // Set before anything reads the configuration: the home, and downloads that can
  // only fail at once (a closed loopback port), so that no input reaches the network.
  const std::pair<const char*, std::string> settings[] = {
      {"HEARTH_HOME", home},
      {"HEARTH_HF_ENDPOINT", "http://127.0.0.1:9"}, {"HEARTH_DB", ""},
      {"HEARTH_NUM_PARALLEL", "2"},    {"HEARTH_THREADS", "1"}};
  for (const auto& [env, value] : settings) {
    ::setenv(env, value.c_str(), 1);
    config::set_override(env, value);
  }
  p.store = std::make_unique<store::Store>(store::Store::open_default());
  p.database = std::make_unique<db::Database>(db::Database::open(""));
  p.library = std::make_unique<library::Library>(*p.store, *p.database);
  server::Scheduler::Options options;
  options.num_parallel = 2;
  options.threads = 1;
  options.default_num_ctx = 256;
  p.scheduler = std::make_unique<server::Scheduler>(options);
  p.auth = std::make_unique<server::Authenticator>(*p.database, server::AuthMode::automatic, false);
  p.hub = std::make_unique<server::DesktopHub>(*p.database);
  // Built in place: ApiContext holds atomics and cannot move. No trainer runs: jobs stay queued.
  p.api.reset(new server::ApiContext{*p.store, *p.database, *p.library, *p.scheduler, *p.auth, {}, {}});
  p.api->desktops = p.hub.get();
  p.router = server::make_api_router(*p.api);
  local_user = p.library->local_user_id();

  if (auto conformance = test::conformance_dir()) {
    model_file_ = (*conformance / "models" / "llama3-f16.gguf").string();
    if (fs::exists(model_file_)) {
      model = "tiny";
      install();
    }
  }
}

void World::install() {
  library::PullSettings named;
  named.name = model;
  parts->library->pull(local_user, model_file_, {}, [] { return false; }, named);
}

void World::ensure_model() {
  if (model.empty()) return;
  try {
    parts->library->resolve(local_user, model);
  } catch (const Error&) {
    install();
  }
}

World::~World() {
  Parts& p = *parts;
  p.library->shutdown();  // pull threads use the context: stop them before it goes
  p.hub->close_all();
  p.api.reset();
  p.scheduler.reset();
}

server::Router& World::router() { return parts->router; }
server::ApiContext& World::api() { return *parts->api; }

}  // namespace hearth::fuzz
