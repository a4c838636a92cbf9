// agent: the desktop connector (DESIGN.md §2; docs/desktop-protocol.md). `hearth agent --hub URL`
// connects this machine outward to a hub over a WebSocket, registers it, and serves the chats the
// hub routes here with this machine's own library and scheduler.
//
// Shape:
//   - Credentials (credentials.h): the agent id and secret the hub gave at registration, kept per
//     hub URL in HEARTH_HOME/agent/credentials.json (mode 0600).
//   - AgentSession (session.h): the protocol's logic for one connection, without sockets: the
//     hello, heartbeats with telemetry, infer/cancel/install/remove from the hub.
//   - run_agent (connection.cpp): the sockets: Beast WebSocket client over TCP or TLS, registration
//     over HTTP, reconnection with backoff and jitter after any failure, until SIGINT/SIGTERM.
#pragma once

#include <string>

namespace hearth::store {
class Store;
}
namespace hearth::library {
class Library;
}
namespace hearth::server {
class Scheduler;
}

namespace hearth::agent {

struct AgentOptions {
  std::string hub;      // the hub's base URL: ws://, wss://, http:// or https://
  std::string token;    // the user's API token, for the first registration only
  std::string name;     // this agent's name on the hub (default: the host name)
  std::string ca_file;  // PEM certificates to trust for a wss:// / https:// hub
};

// What the agent serves with: this machine's models and engine (also used by --serve's API).
struct AgentContext {
  store::Store& store;
  library::Library& library;
  server::Scheduler& scheduler;
};

// Connects and serves until SIGINT or SIGTERM (or a refusal that retrying cannot fix: the hub
// does not know this agent any more, or refused the token). Error(invalid_input) for a bad URL;
// Error(unauthorized) when the hub refuses this agent.
void run_agent(const AgentOptions& options, AgentContext& context);

}  // namespace hearth::agent
