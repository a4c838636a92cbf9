// See routing.h.
#include "server/routing.h"

#include <array>
#include <set>

#include "db/conversations.h"
#include "server/api.h"
#include "server/desktop_hub.h"

namespace hearth::server {
namespace {

constexpr std::array<std::string_view, 3> kNames = {"desktop-then-local", "desktop-only",
                                                    "local-only"};

}  // namespace

std::string_view to_string(RoutePolicy p) { return kNames.at(static_cast<std::size_t>(p)); }

RoutePolicy route_policy_from(std::string_view text, std::string_view what) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == text) return static_cast<RoutePolicy>(i);
  throw Error(ErrorKind::invalid_input,
              std::string(what) + " must be desktop-then-local, desktop-only or local-only, not '" +
                  std::string(text.substr(0, 40)) + "'");
}

RoutePolicy RoutePolicyCache::get(const db::Database& db, std::int64_t user_id) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(user_id); it != cache_.end() && now - it->second.second < kFresh)
      return it->second.first;
  }
  const RoutePolicy policy = route_policy_from(
      db::UserSettingsStore(db).get(user_id).route_policy, "the stored route setting");
  std::lock_guard lock(mutex_);
  cache_[user_id] = {policy, now};
  return policy;
}

void RoutePolicyCache::forget(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  cache_.erase(user_id);
}

namespace {

RoutePolicy policy_for(ApiContext& api, const Request& http) {
  const std::string_view header = http.header("x-hearth-route");
  return !header.empty() ? route_policy_from(header, "the X-Hearth-Route header")
                         : api.route_policies.get(api.db, http.caller.user_id);
}

}  // namespace

boost::json::array routed_models(ApiContext& api, const Request& http) {
  boost::json::array out;
  if (api.desktops == nullptr && api.remotes == nullptr) return out;
  if (policy_for(api, http) == RoutePolicy::local_only) return out;
  boost::json::array all;
  if (api.desktops != nullptr) all = api.desktops->models(http.caller.user_id);
  if (api.remotes != nullptr)
    for (auto& m : api.remotes->models(http.caller.user_id)) all.emplace_back(std::move(m));
  std::set<std::string> seen;
  for (auto& m : all) {
    const auto* name = m.is_object() ? m.as_object().if_contains("name") : nullptr;
    if (name == nullptr || !name->is_string()) continue;
    if (seen.insert(std::string(name->as_string())).second) out.emplace_back(std::move(m));
  }
  return out;
}

std::optional<Route> choose_route(ApiContext& api, const Request& http, const std::string& model) {
  if (api.desktops == nullptr && api.remotes == nullptr) return std::nullopt;
  const RoutePolicy policy = policy_for(api, http);
  if (policy == RoutePolicy::local_only) return std::nullopt;
  if (api.desktops != nullptr)
    if (auto r = api.desktops->route(http.caller.user_id, model)) return r;
  if (api.remotes != nullptr)
    if (auto r = api.remotes->route(http.caller.user_id, model)) return r;
  if (policy == RoutePolicy::desktop_only)
    throw Error(ErrorKind::unavailable,
                "none of your desktop agents or remote engines serves '" + model +
                    "' right now (your route policy is desktop-only; connect an agent that has it, "
                    "or send X-Hearth-Route: desktop-then-local)");
  return std::nullopt;
}

}  // namespace hearth::server
