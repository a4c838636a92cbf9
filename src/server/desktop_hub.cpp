// See desktop_hub.h.
#include "server/desktop_hub.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <thread>

#include "core/base64.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/sha256.h"
#include "core/thread_pool.h"
#include "server/desktop_link.h"
#include "server/json_util.h"

namespace hearth::server {
namespace {

constexpr std::string_view kSecretPrefix = "hagent_";
constexpr std::chrono::milliseconds kCancelPoll{100};

std::string random_text(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
    throw Error(ErrorKind::internal, "the system's random source failed");
  return base64url_encode(raw);
}

std::string checked_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    throw Error(ErrorKind::invalid_input, "an agent's name must be 1 to 64 characters");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      throw Error(ErrorKind::invalid_input, "an agent's name must not hold control characters");
  return name;
}

}  // namespace

HubState::HubState(db::Database database)
    : db(std::move(database)), writer_(std::make_unique<ThreadPool>(1)) {}

HubState::~HubState() { stop_writing(); }

void HubState::stop_writing() {
  std::unique_ptr<ThreadPool> writer;
  {
    std::lock_guard lock(writer_mutex_);
    writer.swap(writer_);
  }
  writer.reset();  // joins after the queued writes
}

void HubState::write(std::function<void(db::Database&)> work) {
  std::lock_guard lock(writer_mutex_);
  if (!writer_) return;
  writer_->submit([this, work = std::move(work)] {
    try {
      work(db);
    } catch (const std::exception& e) {
      SPDLOG_WARN("desktop connections: {}", e.what());
    }
  });
}

std::optional<Route> HubState::reroute(std::int64_t user_id, const std::string& model,
                                       const AgentLink* except) {
  std::vector<std::shared_ptr<AgentLink>> candidates;
  {
    std::lock_guard lock(mutex);
    for (const auto& [id, link] : links)
      if (link->identity().user_id == user_id && link.get() != except) candidates.push_back(link);
  }
  std::shared_ptr<AgentLink> best;
  std::string best_name;
  for (const auto& link : candidates) {
    if (!link->live()) continue;
    const std::string name = link->find_model(model);
    if (name.empty()) continue;
    if (!best || link->load() < best->load() ||
        (link->load() == best->load() && link->speed() > best->speed())) {
      best = link;
      best_name = name;
    }
  }
  if (!best) return std::nullopt;
  return Route{best, best_name};
}

struct DesktopHub::Impl {
  std::shared_ptr<HubState> state;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::thread watcher;

  std::vector<std::shared_ptr<AgentLink>> links_of(std::int64_t user_id) {
    std::vector<std::shared_ptr<AgentLink>> out;
    std::lock_guard lock(state->mutex);
    for (const auto& [id, link] : state->links)
      if (user_id == 0 || link->identity().user_id == user_id) out.push_back(link);
    return out;
  }
  std::shared_ptr<AgentLink> link(std::int64_t user_id, const std::string& agent_id) {
    std::lock_guard lock(state->mutex);
    auto it = state->links.find(agent_id);
    if (it == state->links.end() || it->second->identity().user_id != user_id) return nullptr;
    return it->second;
  }
};

DesktopHub::DesktopHub(db::Database db) : impl_(std::make_shared<Impl>()) {
  impl_->state = std::make_shared<HubState>(std::move(db));
  Impl* impl = impl_.get();
  impl_->watcher = std::thread([impl] {
    std::unique_lock lock(impl->mutex);
    while (!impl->stopping) {
      impl->wake.wait_for(lock, kCancelPoll);
      lock.unlock();
      for (const auto& link : impl->links_of(0)) link->send_cancels();
      lock.lock();
    }
  });
}

DesktopHub::~DesktopHub() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->watcher.join();
  close_all();
  impl_->state->stop_writing();
}

json::object DesktopHub::register_agent(std::int64_t user_id, const std::string& name) {
  const std::string agent_id = "agt_" + random_text(15);
  const std::string secret = std::string(kSecretPrefix) + random_text(32);
  db::DesktopConnections(impl_->state->db)
      .register_agent(user_id, agent_id, checked_name(name), sha256_hex(secret));
  SPDLOG_INFO("desktop agent '{}' ({}) registered", name, agent_id);
  return {{"agent_id", agent_id}, {"secret", secret}, {"name", name}};
}

std::shared_ptr<WebSocketPeer> DesktopHub::accept(const Request& upgrade, Authenticator& auth) {
  const std::string agent_id(upgrade.header("x-hearth-agent"));
  const std::string_view authorization = upgrade.header("authorization");
  if (agent_id.empty())
    throw Error(ErrorKind::unauthorized, "an agent connects with its id in X-Hearth-Agent");
  std::string_view credential = authorization;
  if (credential.size() > 7 && (credential.substr(0, 7) == "Bearer " || credential.substr(0, 7) == "bearer "))
    credential.remove_prefix(7);
  else
    credential = {};
  if (credential.empty())
    throw Error(ErrorKind::unauthorized,
                "an agent connects with its secret (or its user's API token) as a Bearer token");
  const auto row = db::DesktopConnections(impl_->state->db).find(agent_id);
  const std::string refused =
      "unknown or revoked agent, or wrong secret; register the agent again "
      "(hearth agent --token ...)";
  // A wrong agent or secret counts against the caller's address like a wrong API key (auth.h).
  const auto refuse = [&] {
    if (const int wait = auth.failures().blocked_for(upgrade.client_address); wait > 0)
      throw TooManyRequests("too many failed authentications from " + upgrade.client_address +
                                "; try again in " + std::to_string(wait) + " s",
                            wait);
    auth.failures().fail(upgrade.client_address);
    throw Error(ErrorKind::unauthorized, refused);
  };
  if (!row) refuse();
  if (credential.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
    if (row->secret_hash.empty() ||
        !constant_time_equal(sha256_hex(credential), row->secret_hash))
      refuse();
  } else {
    const Caller caller = auth.authenticate(authorization, upgrade.client_address);
    if (caller.user_id != row->user_id) throw Error(ErrorKind::unauthorized, refused);
  }
  return std::make_shared<AgentLink>(impl_->state,
                                     AgentIdentity{row->user_id, row->connection_id, row->name});
}

std::optional<Route> DesktopHub::route(std::int64_t user_id, const std::string& model) {
  return impl_->state->reroute(user_id, model, nullptr);
}

json::array DesktopHub::agents(std::int64_t user_id) {
  json::array out;
  for (const auto& row : db::DesktopConnections(impl_->state->db).list(user_id)) {
    std::string error;
    auto hardware = parse_json(row.hardware_info, &error);
    auto models = parse_json(row.local_models, &error);
    json::object o{{"id", row.connection_id},
                   {"name", row.name},
                   {"status", "disconnected"},
                   {"version", row.app_version},
                   {"connected_at", rfc3339(row.connected_at)},
                   {"last_seen", rfc3339(row.last_seen)},
                   {"hardware", hardware ? *hardware : json::object{}},
                   {"telemetry", nullptr},
                   {"models", models ? *models : json::array{}},
                   {"in_flight", 0},
                   {"served", 0}};
    if (auto link = impl_->link(user_id, row.connection_id); link && link->live()) {
      for (auto& [k, v] : link->describe()) o[k] = v;
      o["last_seen"] = rfc3339(std::chrono::system_clock::now());
    }
    out.emplace_back(std::move(o));
  }
  return out;
}

json::array DesktopHub::models(std::int64_t user_id) {
  json::array out;
  for (const auto& link : impl_->links_of(user_id)) {
    if (!link->live()) continue;
    const auto& who = link->identity();
    for (auto m : link->models()) {
      json::object& o = m.as_object();
      o["where"] = "desktop";
      o["agent"] = json::object{{"id", who.agent_id}, {"name", who.name}};
      out.emplace_back(std::move(o));
    }
  }
  return out;
}

void DesktopHub::revoke(std::int64_t user_id, const std::string& agent_id) {
  if (!db::DesktopConnections(impl_->state->db).remove(user_id, agent_id))
    throw Error(ErrorKind::not_found, "you have no desktop agent '" + agent_id + "'");
  if (auto link = impl_->link(user_id, agent_id)) link->close("this agent was revoked");
  SPDLOG_INFO("desktop agent {} revoked", agent_id);
}

namespace {

Response command(const std::shared_ptr<AgentLink>& link, const std::string& agent_id,
                 const std::string& type, const std::string& model) {
  if (!link || !link->live())
    throw Error(ErrorKind::unavailable, "desktop agent '" + agent_id + "' is not connected");
  auto out = std::make_shared<ResponseStream>();
  link->command(type, model, out);
  Response r;
  r.stream = std::move(out);
  return r;
}

void require_agent(db::Database& db, std::int64_t user_id, const std::string& agent_id) {
  const auto row = db::DesktopConnections(db).find(agent_id);
  if (!row || row->user_id != user_id)
    throw Error(ErrorKind::not_found, "you have no desktop agent '" + agent_id + "'");
}

}  // namespace

Response DesktopHub::install(std::int64_t user_id, const std::string& agent_id,
                             const std::string& model) {
  require_agent(impl_->state->db, user_id, agent_id);
  if (model.empty() || model.size() > 200 || model.find("://") != std::string::npos ||
      model.find('/') != std::string::npos || model.find('\\') != std::string::npos)
    throw Error(ErrorKind::invalid_input,
                "an agent installs models of its catalog by name (\"qwen2.5:0.5b\"), never a URL "
                "or a path");
  return command(impl_->link(user_id, agent_id), agent_id, "install", model);
}

Response DesktopHub::remove_model(std::int64_t user_id, const std::string& agent_id,
                                  const std::string& model) {
  require_agent(impl_->state->db, user_id, agent_id);
  return command(impl_->link(user_id, agent_id), agent_id, "remove", model);
}

void DesktopHub::close_all() {
  for (const auto& link : impl_->links_of(0)) link->close("the hub is stopping");
}

}  // namespace hearth::server
