// See remote_engines.h.
#include "server/remote_engines.h"

#include <boost/json.hpp>

#include <algorithm>

#include "core/config.h"
#include "core/log.h"
#include "db/remote_engines.h"
#include "loop/remote_http.h"
#include "loop/remote_settings.h"
#include "server/remote_engines_stream.h"

namespace hearth::server {

using remote_detail::Engine;
using Clock = std::chrono::steady_clock;

namespace {

// "tiny" and "tiny:latest" name the same model.
std::string base_name(const std::string& model) {
  constexpr std::string_view latest = ":latest";
  if (model.size() > latest.size() && model.ends_with(latest))
    return model.substr(0, model.size() - latest.size());
  return model;
}

// The ids of a GET /models answer ({"data": [{"id": ...}, ...]}, as OpenAI's and every
// compatible server's; Ollama's /v1 too).
std::vector<std::string> model_ids(const boost::json::value& answer) {
  std::vector<std::string> out;
  if (!answer.is_object()) return out;
  const auto* data = answer.as_object().if_contains("data");
  if (!data || !data->is_array()) return out;
  for (const auto& m : data->as_array())
    if (m.is_object())
      if (const auto* id = m.as_object().if_contains("id"); id && id->is_string())
        out.emplace_back(id->as_string());
  return out;
}

bool same_row(const db::RemoteEngineRow& a, const db::RemoteEngineRow& b) {
  return a.id == b.id && a.base_url == b.base_url && a.sealed_key == b.sealed_key &&
         a.models == b.models && a.user_id == b.user_id;
}

}  // namespace

RemoteEngines::Options RemoteEngines::options_from_config() {
  Options o;
  o.health_interval =
      std::chrono::seconds(config::get_int("HEARTH_REMOTE_HEALTH_INTERVAL", 1, 86'400));
  o.cooldown = std::chrono::seconds(config::get_int("HEARTH_REMOTE_COOLDOWN", 1, 86'400));
  return o;
}

RemoteEngines::RemoteEngines(db::Database db, Options options)
    : db_(std::move(db)),
      options_(options),
      workers_(std::make_shared<remote_detail::Workers>(options.threads)) {}

RemoteEngines::~RemoteEngines() { stop(); }

void RemoteEngines::start() {
  std::lock_guard lock(health_mutex_);
  if (health_.joinable() || stopping_) return;
  started_ = true;
  health_ = std::thread([this] { health_loop(); });
  refresher_ = std::thread([this] { refresh_loop(); });
}

void RemoteEngines::stop() {
  {
    std::lock_guard lock(health_mutex_);
    stopping_ = true;
  }
  health_wake_.notify_all();
  if (health_.joinable()) health_.join();
  if (refresher_.joinable()) refresher_.join();
  workers_->stop();
}

void RemoteEngines::refresh(bool force) {
  {
    std::lock_guard lock(mutex_);
    if (!force && Clock::now() - refreshed_at_ < options_.refresh_after) return;
  }
  // One reader at a time; the others keep routing on the rows they have.
  std::unique_lock reading(refresh_mutex_, std::try_to_lock);
  if (!reading.owns_lock()) {
    if (!force) return;
    reading.lock();
  }
  std::vector<db::RemoteEngineRow> rows;
  try {
    rows = db::RemoteEngineRows(db_).list();
  } catch (const std::exception& e) {
    spdlog::warn("remote engines: cannot read the database: {}", e.what());
    std::lock_guard lock(mutex_);
    refreshed_at_ = Clock::now();  // try again later, not on every request
    return;
  }
  std::map<std::string, std::shared_ptr<Engine>> current;
  {
    std::lock_guard lock(mutex_);
    current = engines_;
  }
  std::map<std::string, std::shared_ptr<Engine>> next;
  for (auto& row : rows) {
    if (auto it = current.find(row.name); it != current.end() && same_row(it->second->row, row)) {
      next.emplace(row.name, it->second);  // keeps its breaker and discovered models
      continue;
    }
    loop::RemoteAccess access{.base_url = row.base_url, .owner_named = true};
    if (!row.sealed_key.empty()) {
      try {
        access.api_key = loop::open_secret(row.sealed_key, loop::remote_key_file());
      } catch (const std::exception& e) {
        // Said once per stored key, not at every re-read.
        std::lock_guard lock(mutex_);
        if (unopened_keys_.insert(row.name + '\n' + row.sealed_key).second)
          spdlog::warn("remote '{}' ({}): its key cannot be opened, so it is not used: {}",
                       row.name, row.base_url, e.what());
        continue;
      }
    }
    const std::string name = row.name;
    auto engine = std::make_shared<Engine>(std::move(row), std::move(access),
                                           options_.failure_threshold, options_.cooldown);
    spdlog::info("{}: {}", engine->label(),
                 current.contains(name) ? "settings changed" : "now routed to");
    next.emplace(name, std::move(engine));
  }
  for (const auto& [name, engine] : current)
    if (!next.contains(name)) spdlog::info("{}: removed", engine->label());
  std::lock_guard lock(mutex_);
  engines_ = std::move(next);
  refreshed_at_ = Clock::now();
}

std::vector<std::shared_ptr<Engine>> RemoteEngines::engines_for(std::int64_t user_id) {
  // Once started, the rows are re-read on a thread of their own: a request never waits on the
  // database (which may be busy or locked), it routes on rows at most ~2 s old.
  bool started = false;
  {
    std::lock_guard lock(health_mutex_);
    started = started_;
  }
  if (!started) refresh(false);
  std::vector<std::shared_ptr<Engine>> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, engine] : engines_)
      if (!engine->row.user_id || *engine->row.user_id == user_id) out.push_back(engine);
  }
  // The user's own engines first, then the shared ones, each by name (the map's order).
  std::stable_partition(out.begin(), out.end(),
                        [](const auto& e) { return e->row.user_id.has_value(); });
  return out;
}

std::optional<Route> RemoteEngines::route(std::int64_t user_id, const std::string& model) {
  const std::string wanted = base_name(model);
  for (const auto& engine : engines_for(user_id)) {
    for (const auto& served : engine->served_models()) {
      if (base_name(served) != wanted) continue;
      if (!engine->breaker.allow()) break;  // open: the next engine may serve it
      remote_detail::StreamOptions stream{
          .connect_timeout_ms = static_cast<long>(options_.connect_timeout.count()),
          .idle_timeout_s = static_cast<long>(options_.idle_timeout.count())};
      return Route{remote_detail::make_target(engine, workers_, stream), served};
    }
  }
  return std::nullopt;
}

boost::json::array RemoteEngines::models(std::int64_t user_id) {
  boost::json::array out;
  for (const auto& engine : engines_for(user_id)) {
    const bool healthy = engine->breaker.state() == CircuitBreaker::State::closed;
    for (const auto& served : engine->served_models())
      out.push_back(boost::json::object{{"name", served},
                                        {"where", "remote"},
                                        {"remote", engine->row.name},
                                        {"healthy", healthy}});
  }
  return out;
}

void RemoteEngines::check_now() {
  refresh(true);
  std::vector<std::shared_ptr<Engine>> engines;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, engine] : engines_) engines.push_back(engine);
  }
  for (const auto& engine : engines) {
    {
      std::lock_guard lock(health_mutex_);
      if (stopping_) return;
    }
    if (!engine->breaker.allow()) continue;  // open: left alone until its cooldown ends
    loop::RemoteAccess access = engine->access;
    access.connect_timeout_ms = static_cast<long>(
        std::min(options_.health_timeout, options_.connect_timeout).count());
    const auto deadline = Clock::now() + options_.health_timeout;
    try {
      const auto answer = loop::RemoteApi(access, [this, deadline] {
                            std::lock_guard lock(health_mutex_);
                            return stopping_ || Clock::now() > deadline;
                          }).get("/models");
      if (engine->row.models.empty()) engine->set_discovered(model_ids(answer));
      engine->record_success("health check");
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(health_mutex_);
        if (stopping_) return;
      }
      std::string why = e.what();
      if (why.ends_with(": stopped")) why = "GET /models: no answer within the health timeout";
      engine->record_failure("health check", why);
    }
  }
}

void RemoteEngines::refresh_loop() {
  for (;;) {
    refresh(true);
    std::unique_lock lock(health_mutex_);
    if (health_wake_.wait_for(lock, options_.refresh_after, [this] { return stopping_; })) return;
  }
}

void RemoteEngines::health_loop() {
  for (;;) {
    check_now();
    std::unique_lock lock(health_mutex_);
    if (health_wake_.wait_for(lock, options_.health_interval, [this] { return stopping_; }))
      return;
  }
}

}  // namespace hearth::server
