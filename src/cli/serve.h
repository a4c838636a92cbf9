// `hearth serve`'s body, shared with `hearth agent --serve` (agent.cpp).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hearth::store {
class Store;
}
namespace hearth::library {
class Library;
}
namespace hearth::server {
class Scheduler;
}

namespace hearth::cli {

struct ServeArgs {
  std::string tls_cert;
  std::string tls_key;
  // One value per flagged setting of the configuration table (env name -> flag value); empty
  // when the flag was not given, so that the environment or the default applies.
  std::vector<std::pair<std::string, std::string>> settings;
};

// Runs on its own thread while the server serves, with the server's library and engine; it must
// end on SIGINT/SIGTERM too (the server waits for it after stopping).
using Alongside = std::function<void(store::Store&, library::Library&, server::Scheduler&)>;

// Serves until SIGINT or SIGTERM (see server/server.h).
void serve(const ServeArgs& args, const Alongside& alongside);

}  // namespace hearth::cli
