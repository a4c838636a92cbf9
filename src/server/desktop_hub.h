// The hub's side of the desktop connector (docs/desktop-protocol.md): the users' agents that
// are connected now, what each has and reports, and the chats routed to them.
//
// Shape:
//   - register_agent() makes an agent's id and secret (POST /api/desktop/register).
//   - accept() authenticates a GET /ws/desktop upgrade and gives the socket layer the agent's
//     link, a WebSocketPeer that is also the GenerationTarget chats are routed to.
//   - A link is live from its hello until its connection ends; route() picks among the caller's
//     live links that have the model (fewest requests in flight plus reported queue, then the
//     fastest). Links hear only from their own connection, so one user's requests never reach
//     another user's agent, and an agent can answer only the requests sent to it.
//   - A watcher thread turns cancelled requests (the client went away) into cancel messages.
//   - Rows of desktop_app_connections (status, last heartbeat, hardware, models) are written on a
//     thread of the hub's own, never on the I/O thread.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "db/db.h"
#include "server/auth.h"
#include "server/routing.h"
#include "server/server.h"

namespace hearth::server {

class DesktopHub {
 public:
  explicit DesktopHub(db::Database db);
  ~DesktopHub();  // closes every link
  DesktopHub(const DesktopHub&) = delete;
  DesktopHub& operator=(const DesktopHub&) = delete;

  // {"agent_id", "secret", "name"}; the secret exists only in this answer.
  // Error(invalid_input) for a bad name.
  boost::json::object register_agent(std::int64_t user_id, const std::string& name);

  // The peer for an upgrade of GET /ws/desktop: X-Hearth-Agent names the agent, Authorization
  // carries its secret (or its user's API token). Error(unauthorized) otherwise.
  std::shared_ptr<WebSocketPeer> accept(const Request& upgrade, Authenticator& auth);

  // One of the user's live agents that has `model`, or nullopt.
  std::optional<Route> route(std::int64_t user_id, const std::string& model);

  // GET /api/desktop/agents's list, and the models of the user's live agents for
  // GET /api/desktop/models (each with "where": "desktop" and "agent": {id, name}).
  boost::json::array agents(std::int64_t user_id);
  boost::json::array models(std::int64_t user_id);

  // DELETE /api/desktop/agents/{id}: the row goes and a live connection is closed.
  // Error(not_found) when the user has no such agent.
  void revoke(std::int64_t user_id, const std::string& agent_id);

  // Asks the user's live agent to install a catalog model or remove one; the answer streams the
  // agent's progress as /api/pull's NDJSON. Error(not_found) / Error(unavailable) (not connected).
  Response install(std::int64_t user_id, const std::string& agent_id, const std::string& model);
  Response remove_model(std::int64_t user_id, const std::string& agent_id,
                        const std::string& model);

  // The server is stopping: every link closes (their requests end with an error).
  void close_all();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace hearth::server
