// `hearth serve [--host H:P] [--tls-cert F --tls-key F] [--auth auto|required] [--db URL] ...`:
// the HTTP API on HEARTH_HOST (default 127.0.0.1:11435) until SIGINT or SIGTERM (see
// server/server.h). Every setting of the configuration table that has a flag is a flag here.
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/home_lock.h"
#include "cli/serve.h"
#include "core/config.h"
#include "core/log.h"
#include "core/paths.h"
#include "library/library.h"
#include "loop/runner.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/desktop_hub.h"
#include "server/remote_engines.h"
#include "server/scheduler.h"
#include "store/store.h"

namespace hearth::cli {

void serve(const ServeArgs& args, const Alongside& alongside) {
  for (const auto& [env, value] : args.settings)
    if (!value.empty()) config::set_override(env, value);
  log::init_from_config();  // --log
  const auto [address, port] = server::parse_host_port(config::get("HEARTH_HOST"));
  const server::AuthMode mode = server::auth_mode_from(config::get("HEARTH_AUTH"));
  // Marks the home as served, for `hearth restore` (cli/home_lock.h).
  const HomeLock serving(paths::home(), HomeLock::Mode::serving);
  store::Store store = store::Store::open_default();
  db::Database database = db::Database::open(config::get("HEARTH_DB"));
  library::Library library(store, database);
  // Held by pointer so that it stops (its loops call into the API's sinks) before the API
  // context below goes away, whichever way this function ends.
  auto scheduler = std::make_unique<server::Scheduler>(server::Scheduler::options_from_config());
  server::Authenticator auth(database, mode, !server::is_loopback_host(address));
  // Training jobs run in the background, one at a time (loop/runner.h); a job cut short by the
  // last stop resumes now.
  auto training = std::make_unique<loop::JobRunner>(database, library, loop::RunnerSettings::from_config());
  // The owner's remote engines (`hearth remote`): chats for their models may go there.
  auto remotes = std::make_unique<server::RemoteEngines>(database);
  server::ApiContext api{store, database, library, *scheduler, auth, {}, std::chrono::system_clock::now(),
                         training.get()};
  api.remotes = remotes.get();
  struct StopFirst {
    library::Library& library;
    std::unique_ptr<server::Scheduler>& scheduler;
    std::unique_ptr<loop::JobRunner>& training;
    std::unique_ptr<server::RemoteEngines>& remotes;
    ~StopFirst() {
      remotes->stop();  // chats in flight end with an error event while their streams exist
      // The step in flight ends with a checkpoint. The runner object itself outlives the API
      // context (declared before it), whose background tasks may still wake it.
      training->stop();
      library.shutdown();
      scheduler.reset();
    }
  } stop_first{library, scheduler, training, remotes};
  training->start();
  remotes->start();
  // Desktop agents connect here (hearth agent --hub); chats for their models are routed to them.
  server::DesktopHub desktops(database);
  api.desktops = &desktops;
  const server::Router router = server::make_api_router(api);

  server::ServeOptions options;
  options.host = address;
  options.port = port;
  options.tls_cert = args.tls_cert;
  options.tls_key = args.tls_key;
  options.allowed_hosts = config::get("HEARTH_ALLOWED_HOSTS");
  options.origins = config::get("HEARTH_ORIGINS");
  options.read_timeout = std::chrono::seconds(config::get_int("HEARTH_READ_TIMEOUT", 1, 3600));
  options.on_listening = [&](uint16_t bound) {
    const bool v6 = address.find(':') != std::string::npos;
    const std::string base = std::string(args.tls_cert.empty() ? "http" : "https") + "://" +
                             (v6 ? "[" : "") + address + (v6 ? "]" : "") + ":" + std::to_string(bound);
    std::printf("hearth %s listening on %s\n", HEARTH_VERSION, base.c_str());
    std::printf("  OpenAI API:  %s/v1   (e.g. POST %s/v1/chat/completions)\n", base.c_str(), base.c_str());
    std::printf("  Ollama API:  %s      (e.g. OLLAMA_HOST=%s ollama list)\n", base.c_str(), base.c_str());
    std::printf("  database:    %s\n", database.location().c_str());
    std::printf("  auth:        %s\n", auth.required() ? "Bearer token required" : "off (loopback, no users)");
    std::fflush(stdout);
  };
  options.on_stopping = [&library, &training] {
    library.stop();
    training->request_stop();
  };
  // Work that shares this server's library and engine (hearth agent --serve) runs beside it and
  // ends on the same signal.
  // It starts once the server listens (a server that cannot bind starts nothing).
  std::thread beside;
  if (alongside) {
    auto listening = options.on_listening;
    options.on_listening = [&, listening](uint16_t bound) {
      listening(bound);
      beside = std::thread([&] {
        try {
          alongside(store, library, *scheduler);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "error: %s\n", e.what());
        }
      });
    };
  }
  struct JoinBeside {
    std::thread& t;
    ~JoinBeside() {
      if (t.joinable()) t.join();
    }
  } join_beside{beside};
  server::serve(router, options);
  std::printf("hearth serve stopped\n");
}

void register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "serve",
      "Serve the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/embeddings, "
      "/v1/models) and the Ollama-compatible API (/api/chat, /api/generate, /api/pull, ...)");
  auto args = std::make_shared<ServeArgs>();
  // Reserve first: add_option keeps pointers into the vector.
  args->settings.reserve(config::settings().size());
  for (const auto& s : config::settings()) {
    if (s.flag.empty()) continue;
    auto& [env, value] = args->settings.emplace_back(std::string(s.env), std::string());
    auto* option = cmd->add_option(std::string(s.flag), value,
                                   std::string(s.description) + " (" + env +
                                       (s.default_value.empty() ? "" : ", default " + std::string(s.default_value)) +
                                       ")");
    if (s.env == "HEARTH_AUTH") option->check(CLI::IsMember({"auto", "required"}));
  }
  cmd->add_option("--tls-cert", args->tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)");
  cmd->add_option("--tls-key", args->tls_key, "PEM private key for --tls-cert");
  cmd->callback([args] { serve(*args, {}); });
}

}  // namespace hearth::cli
