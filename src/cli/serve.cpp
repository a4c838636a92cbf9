// `hearth serve [--host H:P]`: the HTTP API on HEARTH_HOST (default 127.0.0.1:11435) until
// SIGINT or SIGTERM (see server/server.h).
#include <cstdio>

#include "cli/commands.h"
#include "core/config.h"
#include "server/server.h"
#include "store/store.h"

namespace hearth::cli {

void register_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "Serve the OpenAI- and Ollama-compatible HTTP API");
  auto host = std::make_shared<std::string>();
  cmd->add_option("--host", *host, "address:port to listen on (HEARTH_HOST, default 127.0.0.1:11435)");
  cmd->callback([host] {
    if (!host->empty()) config::set_override("HEARTH_HOST", *host);
    const auto [address, port] = server::parse_host_port(config::get("HEARTH_HOST"));
    store::Store store = store::Store::open_default();
    const server::Router router = server::make_api_router(store);
    server::ServeOptions options;
    options.host = address;
    options.port = port;
    options.on_listening = [&](uint16_t bound) {
      const bool v6 = address.find(':') != std::string::npos;
      std::printf("hearth %s listening on http://%s%s%s:%u\n", HEARTH_VERSION, v6 ? "[" : "",
                  address.c_str(), v6 ? "]" : "", static_cast<unsigned>(bound));
      std::printf("  Ollama API: http://%s:%u/api   OpenAI API: http://%s:%u/v1\n",
                  address.c_str(), static_cast<unsigned>(bound), address.c_str(),
                  static_cast<unsigned>(bound));
      std::fflush(stdout);
    };
    server::serve(router, options);
    std::printf("hearth serve stopped\n");
  });
}

}  // namespace hearth::cli
