// The desktop connector's routes on the hub (docs/desktop-protocol.md):
//   POST   /api/desktop/register                     {"name"} -> {"agent_id", "secret", "name"}
//   GET    /api/desktop/agents                       the caller's agents, live telemetry
//   DELETE /api/desktop/agents/{id}                  revoke
//   POST   /api/desktop/agents/{id}/models           {"model": "catalog-name"}: install (NDJSON)
//   DELETE /api/desktop/agents/{id}/models/{name}    remove (NDJSON)
//   GET    /ws/desktop                               the agents' WebSocket
// (GET /api/desktop/models is with the library's routes; POST /api/desktop/inference with the
// Ollama ones.)
#include "db/db.h"
#include "server/api.h"
#include "server/desktop_hub.h"
#include "server/json_util.h"

namespace hearth::server {
namespace {

DesktopHub& hub(ApiContext& api) {
  if (api.desktops == nullptr)
    throw Error(ErrorKind::unsupported, "this server does not accept desktop agents");
  return *api.desktops;
}

void audit(ApiContext& api, const Request& r, const std::string& action, const std::string& what) {
  try {
    db::AuditLog(api.db).record(r.caller.user_id, action, "desktop_agent", what);
  } catch (const std::exception&) {
    // the audit trail must never fail the request
  }
}

Response register_agent(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  std::string name = "desktop";
  if (const auto* v = body.if_contains("name")) {
    if (!v->is_string()) throw Error(ErrorKind::invalid_input, "\"name\" must be a string");
    name = std::string(v->as_string());
  }
  json::object answer = hub(api).register_agent(r.caller.user_id, name);
  audit(api, r, "desktop.register", json_text(json::object{{"agent_id", answer.at("agent_id")},
                                                           {"name", name}}));
  return json_response(answer, 201);
}

Response install(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  const auto* v = body.if_contains("model");
  if (v == nullptr || !v->is_string())
    throw Error(ErrorKind::invalid_input, "\"model\" must name a catalog model to install");
  return hub(api).install(r.caller.user_id, std::string(r.param("id")), std::string(v->as_string()));
}

}  // namespace

void add_desktop_routes(Router& router, ApiContext& api) {
  router.add("POST", "/api/desktop/register",
             [&api](const Request& r) { return register_agent(api, r); });
  router.add("GET", "/api/desktop/agents", [&api](const Request& r) {
    return json_response(json::object{{"agents", hub(api).agents(r.caller.user_id)}});
  });
  router.add("DELETE", "/api/desktop/agents/{id}", [&api](const Request& r) {
    hub(api).revoke(r.caller.user_id, std::string(r.param("id")));
    audit(api, r, "desktop.revoke", json_text(json::object{{"agent_id", r.param("id")}}));
    return json_response(json::object{{"revoked", r.param("id")}});
  });
  router.add("POST", "/api/desktop/agents/{id}/models",
             [&api](const Request& r) { return install(api, r); });
  router.add("DELETE", "/api/desktop/agents/{id}/models/{name}", [&api](const Request& r) {
    return hub(api).remove_model(r.caller.user_id, std::string(r.param("id")),
                                 std::string(r.param("name")));
  });
  router.add_websocket("/ws/desktop", [&api](const Request& r) {
    return hub(api).accept(r, api.auth);
  });
}

}  // namespace hearth::server
