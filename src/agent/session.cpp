// See session.h.
#include "agent/session.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "catalog/catalog.h"
#include "core/json_text.h"
#include "core/log.h"
#include "hardware/hardware.h"
#include "library/library.h"
#include "server/desktop_wire.h"
#include "server/inference.h"
#include "server/library_json.h"
#include "server/scheduler.h"
#include "store/store.h"

namespace hearth::agent {
namespace json = boost::json;
namespace wire = server::wire;

namespace {

// Busy and total jiffies of all CPUs from /proc/stat's first line; zeros when unreadable.
std::pair<std::uint64_t, std::uint64_t> cpu_times() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  std::uint64_t v[8] = {};
  in >> cpu;
  for (auto& x : v) in >> x;
  if (!in || cpu != "cpu") return {0, 0};
  std::uint64_t total = 0;
  for (auto x : v) total += x;
  const std::uint64_t idle = v[3] + v[4];  // idle + iowait
  return {total - idle, total};
}

// MemTotal and MemAvailable in bytes.
std::pair<std::uint64_t, std::uint64_t> memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::uint64_t value = 0, total = 0, available = 0;
  while (in >> key >> value >> unit) {
    if (key == "MemTotal:") total = value * 1024;
    if (key == "MemAvailable:") available = value * 1024;
  }
  return {total, available};
}


}  // namespace

AgentSession::AgentSession(AgentContext& context, std::function<void(std::string)> send,
                           std::string name)
    : context_(context),
      send_(std::move(send)),
      name_(std::move(name)),
      user_id_(context.library.local_user_id()) {
  const auto [busy, total] = cpu_times();
  cpu_busy_ = busy;
  cpu_total_ = total;
  gpus_ = hardware::probe().gpus;  // once: the probe loads the GPU driver's library
}

void AgentSession::send(const json::object& m) const { send_(server::json_text(m)); }

void AgentSession::send_error(const std::string& id, std::string_view kind,
                              const std::string& message) const {
  send(json::object{{"type", "error"}, {"id", id}, {"kind", kind}, {"message", message}});
}

json::array AgentSession::models() const {
  json::array out;
  for (const auto& m : context_.library.list(user_id_)) {
    std::string digest;
    for (const auto& b : m.blobs)
      if (b.media_type == "model") digest = b.digest;
    std::string family;
    try {
      family = server::model_details(context_.store, m).family;
    } catch (const std::exception&) {
      // a model whose file cannot be read is still listed; the hub learns why when it is used
    }
    out.emplace_back(json::object{
        {"name", m.full_name()}, {"digest", digest}, {"size", m.total_size()}, {"family", family}});
  }
  return out;
}

json::object AgentSession::hello() const {
  std::string error;
  auto hardware = parse_json(hardware::to_json(hardware::probe()), &error);
  return {{"type", "hello"},
          {"protocol", wire::kProtocol},
          {"name", name_},
          {"version", HEARTH_VERSION},
          {"os", "linux"},
          {"hardware", hardware && hardware->is_object() ? *hardware : json::object{}},
          {"models", models()}};
}

json::object AgentSession::heartbeat() {
  const auto [busy, total] = cpu_times();
  double cpu = 0;
  if (total > cpu_total_) cpu = 100.0 * double(busy - cpu_busy_) / double(total - cpu_total_);
  cpu_busy_ = busy;
  cpu_total_ = total;
  const auto [mem_total, mem_available] = memory();
  const server::SchedulerStats stats = context_.scheduler.stats();
  json::array loaded;
  for (const auto& m : context_.scheduler.loaded()) loaded.emplace_back(json::string(m.model));
  json::array gpus;
  for (const auto& g : gpus_)
    gpus.emplace_back(json::object{{"name", g.name},
                                   {"utilization", nullptr},
                                   {"vram_used", g.vram_total - std::min(g.vram_total, g.vram_free)},
                                   {"vram_total", g.vram_total}});
  return {{"type", "heartbeat"},
          {"telemetry",
           json::object{{"cpu_percent", std::round(cpu * 10) / 10},
                        {"memory_used", mem_total - std::min(mem_total, mem_available)},
                        {"memory_total", mem_total},
                        {"gpus", std::move(gpus)},
                        {"loaded_models", std::move(loaded)},
                        {"queue", stats.queue_depth},
                        {"active", stats.active_sequences},
                        {"tokens_per_second", std::round(stats.tokens_per_second * 10) / 10}}}};
}

json::value AgentSession::message(const std::string& text) {
  std::string error;
  auto parsed = parse_json(text, &error);
  if (!parsed || !parsed->is_object())
    throw Error(ErrorKind::invalid_input, "the hub sent something that is not a JSON object");
  const json::object& m = parsed->as_object();
  const std::string type = wire::string_field(m, "type");
  if (type == "welcome") return m;
  if (type == "infer") {
    infer(m);
  } else if (type == "cancel") {
    std::lock_guard lock(mutex_);
    if (auto it = running_.find(wire::string_field(m, "id")); it != running_.end()) {
      it->second->store(true, std::memory_order_release);
      running_.erase(it);
    }
  } else if (type == "install") {
    install(wire::string_field(m, "id"), wire::string_field(m, "model"));
  } else if (type == "remove") {
    remove(wire::string_field(m, "id"), wire::string_field(m, "model"));
  } else if (type == "error") {
    SPDLOG_WARN("the hub says: {}", wire::string_field(m, "message"));
  }
  return nullptr;  // unknown types are ignored: a newer hub may send more
}

void AgentSession::infer(const json::object& m) {
  const std::string id = wire::string_field(m, "id");
  if (id.empty()) throw Error(ErrorKind::invalid_input, "an infer message needs an id");
  server::GenerationRequest request;
  try {
    request = wire::request_from_infer(m);
    server::use_model(request, context_.library.resolve(user_id_, request.model));
  } catch (const Error& e) {
    send_error(id, wire::kind_name(e.kind()), e.what());
    return;
  }
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  request.cancelled = cancelled;
  {
    std::lock_guard lock(mutex_);
    running_[id] = cancelled;
  }
  auto self = shared_from_this();
  auto sink = [self, id, cancelled](server::GenerationEvent&& e) {
    if (cancelled->load(std::memory_order_acquire)) return;  // the hub stopped listening
    switch (e.kind) {
      case server::GenerationEvent::Kind::token:
        if (!e.text.empty() || !e.reasoning.empty() || !e.tool_calls.empty())
          self->send(wire::piece_json(id, e));
        return;
      case server::GenerationEvent::Kind::done:
        self->send(json::object{{"type", "done"},
                                {"id", id},
                                {"finish_reason", e.finish_reason},
                                {"usage", wire::usage_json(e.timings)}});
        break;
      case server::GenerationEvent::Kind::error:
        self->send_error(id, wire::kind_name(e.error_kind), server::public_message(e.error));
        break;
    }
    std::lock_guard lock(self->mutex_);
    self->running_.erase(id);
  };
  try {
    context_.scheduler.submit(std::move(request), std::move(sink));
  } catch (const Error& e) {
    {
      std::lock_guard lock(mutex_);
      running_.erase(id);
    }
    send_error(id, wire::kind_name(e.kind()), e.what());
  }
}

void AgentSession::install(const std::string& id, const std::string& model) {
  // Only names of this machine's catalog: a hub never makes an agent fetch a URL or read a path.
  try {
    const auto ref = catalog::parse_reference(model);
    const auto* named = std::get_if<catalog::NamedRef>(&ref);
    if (named == nullptr || catalog::Catalog::load().find(named->name) == nullptr)
      throw Error(ErrorKind::invalid_input,
                  "'" + model + "' is not a model of this desktop's catalog (hearth catalog lists them)");
  } catch (const Error& e) {
    send_error(id, wire::kind_name(e.kind()), e.what());
    return;
  }
  auto self = shared_from_this();
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(mutex_);
    running_[id] = cancelled;
  }
  try {
    context_.library.run_in_background([self, id, model, cancelled](const std::function<bool()>& stopping) {
      try {
        const auto done = self->context_.library.pull(
            self->user_id_, model,
            [&](const library::PullProgressEvent& p) {
              self->send(json::object{{"type", "progress"},
                                      {"id", id},
                                      {"status", p.status},
                                      {"completed", p.completed},
                                      {"total", p.total}});
            },
            [&] { return stopping() || cancelled->load(); });
        if (done) self->send(json::object{{"type", "done"}, {"id", id}});
        else self->send_error(id, "unavailable", "the install was stopped");
      } catch (const Error& e) {
        self->send_error(id, wire::kind_name(e.kind()), server::public_message(e.what()));
      }
      self->send(json::object{{"type", "models"}, {"models", self->models()}});
      std::lock_guard lock(self->mutex_);
      self->running_.erase(id);
    });
  } catch (const Error& e) {
    send_error(id, wire::kind_name(e.kind()), e.what());
  }
}

void AgentSession::remove(const std::string& id, const std::string& model) {
  // Off the connection's thread, which must keep answering pings.
  auto self = shared_from_this();
  auto work = [self, id, model](const std::function<bool()>&) {
    try {
      self->context_.library.remove(self->user_id_, model);
      self->send(json::object{{"type", "done"}, {"id", id}});
    } catch (const Error& e) {
      self->send_error(id, wire::kind_name(e.kind()), e.what());
    }
    self->send(json::object{{"type", "models"}, {"models", self->models()}});
  };
  try {
    context_.library.run_in_background(work);
  } catch (const Error& e) {
    send_error(id, wire::kind_name(e.kind()), e.what());
  }
}

void AgentSession::closed() {
  std::lock_guard lock(mutex_);
  for (auto& [id, flag] : running_) flag->store(true, std::memory_order_release);
  running_.clear();
}

}  // namespace hearth::agent
