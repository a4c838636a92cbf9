// The caller's remote trainer (loop/remote_settings.h): the OpenAI-compatible fine-tuning API
// that jobs started with "trainer": "openai" train through.
//   PUT    /api/training/remote   {"base_url", "api_key"} -> {"base_url", "api_key_set": true,
//                                  "updated_at"}; 400 for a URL that is not http(s) or reaches a
//                                  private address (unless HEARTH_ALLOW_PRIVATE_URLS=1)
//   GET    /api/training/remote   {"base_url", "api_key_set", "updated_at"} ({"base_url": null,
//                                  "api_key_set": false} when none is set)
//   DELETE /api/training/remote   {"deleted": bool}
// The key is never part of an answer nor of the log and audit entries.
#include "db/training.h"
#include "loop/loop.h"
#include "loop/remote_settings.h"
#include "server/api.h"
#include "server/json_util.h"

namespace hearth::server {
namespace {

json::object settings_json(const std::optional<db::RemoteTrainer>& t) {
  if (!t) return {{"base_url", nullptr}, {"api_key_set", false}, {"updated_at", nullptr}};
  return {{"base_url", t->base_url},
          {"api_key_set", !t->sealed_key.empty()},
          {"updated_at", db::format_time(t->updated_at)}};
}

Response put_remote(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  const std::string base_url = opt_string(body, "base_url").value_or("");
  if (base_url.empty())
    throw Error(
        ErrorKind::invalid_input,
        "field 'base_url' is required: the fine-tuning API's base, e.g. https://api.openai.com/v1");
  loop::save_remote_trainer(api.db, r.caller.user_id, base_url,
                            opt_string(body, "api_key").value_or(""));
  const auto stored = db::RemoteTrainers(api.db).find(r.caller.user_id);
  loop::audit(api.db, r.caller.user_id, "training.remote", stored ? stored->base_url : base_url,
              {{"set", true}});
  return json_response(settings_json(stored));
}

Response get_remote(ApiContext& api, const Request& r) {
  return json_response(settings_json(db::RemoteTrainers(api.db).find(r.caller.user_id)));
}

Response delete_remote(ApiContext& api, const Request& r) {
  const bool removed = db::RemoteTrainers(api.db).remove(r.caller.user_id);
  if (removed) loop::audit(api.db, r.caller.user_id, "training.remote", "", {{"removed", true}});
  return json_response(json::object{{"deleted", removed}});
}

}  // namespace

void add_remote_training_routes(Router& router, ApiContext& api) {
  router.add("PUT", "/api/training/remote",
             [&api](const Request& r) { return put_remote(api, r); });
  router.add("GET", "/api/training/remote",
             [&api](const Request& r) { return get_remote(api, r); });
  router.add("DELETE", "/api/training/remote",
             [&api](const Request& r) { return delete_remote(api, r); });
}

}  // namespace hearth::server
