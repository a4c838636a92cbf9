// `hearth agent --hub URL [--token T] [--name N] [--ca FILE] [--serve [--host H:P]]`: connects
// this machine to a hearth hub so that a web account can use its models (agent/agent.h,
// docs/desktop-protocol.md). With --serve the local API runs too, on the same engine.
#include <cstdlib>
#include <memory>
#include <string>

#include "agent/agent.h"
#include "cli/commands.h"
#include "cli/serve.h"
#include "core/config.h"
#include "core/log.h"
#include "db/db.h"
#include "library/library.h"
#include "server/scheduler.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

struct AgentArgs {
  agent::AgentOptions options;
  bool serve = false;
  std::string host;
};

void run(AgentArgs args) {
  if (args.options.token.empty())
    if (const char* t = std::getenv("HEARTH_TOKEN")) args.options.token = t;
  if (args.serve) {
    ServeArgs serve_args;
    if (!args.host.empty()) serve_args.settings.emplace_back("HEARTH_HOST", args.host);
    serve(serve_args, [&args](store::Store& store, library::Library& library,
                              server::Scheduler& scheduler) {
      agent::AgentContext context{store, library, scheduler};
      agent::run_agent(args.options, context);
    });
    return;
  }
  log::init_from_config();
  store::Store store = store::Store::open_default();
  db::Database database = db::Database::open(config::get("HEARTH_DB"));
  library::Library library(store, database);
  auto scheduler = std::make_unique<server::Scheduler>(server::Scheduler::options_from_config());
  struct StopFirst {
    library::Library& library;
    std::unique_ptr<server::Scheduler>& scheduler;
    ~StopFirst() {
      library.shutdown();
      scheduler.reset();
    }
  } stop_first{library, scheduler};
  agent::AgentContext context{store, library, *scheduler};
  agent::run_agent(args.options, context);
  std::printf("hearth agent stopped\n");
}

}  // namespace

void register_agent(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "agent",
      "Connect this machine to a hearth hub (hearth serve elsewhere) so that your web account "
      "can use its models; reconnects by itself");
  auto args = std::make_shared<AgentArgs>();
  cmd->add_option("--hub", args->options.hub,
                  "the hub's URL: https://hub.example.com, http://127.0.0.1:11435, ws://, wss://")
      ->required();
  cmd->add_option("--token", args->options.token,
                  "an API token of your account on the hub, for the first start (HEARTH_TOKEN)");
  cmd->add_option("--name", args->options.name, "this machine's name on the hub (default: host name)");
  cmd->add_option("--ca", args->options.ca_file,
                  "PEM certificate(s) to trust for the hub (a self-signed hub)")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--serve", args->serve, "also serve the local API (as hearth serve does)");
  cmd->add_option("--host", args->host, "with --serve: where the local API listens (HEARTH_HOST)");
  cmd->callback([args] { run(*args); });
}

}  // namespace hearth::cli
