// The server's parts as `hearth serve` puts them together (src/cli/serve.cpp), in-process over a
// temporary HEARTH_HOME with its SQLite database, for the targets that reach the API, the hub or
// the agent: a store, the library, a scheduler, authentication (loopback, no users: every request
// runs as the local user), the desktop hub and the router with every route. When the conformance
// pack is present, its smallest chat model is installed as "tiny" so that chat requests are
// parsed, rendered and generated (a few tokens), not only refused for an unknown model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "server/api.h"

namespace hearth::fuzz {

struct World {
  // Builds everything once, the first time it is asked for.
  static World& get();
  ~World();

  server::Router& router();
  server::ApiContext& api();
  std::int64_t local_user = 0;
  std::string model;  // the installed model's name ("" when the conformance pack is absent)
  // Installs the model again when an input removed or renamed it.
  void ensure_model();

  struct Parts;
  std::unique_ptr<Parts> parts;

 private:
  World();
  void install();
  std::string model_file_;
};

}  // namespace hearth::fuzz
