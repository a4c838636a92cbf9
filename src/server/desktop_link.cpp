// See desktop_link.h and docs/desktop-protocol.md.
#include "server/desktop_link.h"

#include "core/json_text.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "server/desktop_wire.h"
#include "server/json_util.h"

namespace hearth::server {
namespace {

constexpr std::size_t kMaxModels = 4096;
constexpr std::size_t kMaxTelemetryBytes = 64u << 10;

GenerationEvent error_event(ErrorKind kind, std::string message) {
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::error;
  e.error_kind = kind;
  e.error = std::move(message);
  return e;
}

// A models array from a peer: objects with a string "name"; anything else is refused.
json::array checked_models(const json::value& v) {
  if (!v.is_array()) throw Error(ErrorKind::invalid_input, "\"models\" must be an array");
  const json::array& in = v.as_array();
  if (in.size() > kMaxModels) throw Error(ErrorKind::invalid_input, "too many models");
  json::array out;
  for (const auto& m : in) {
    if (!m.is_object() || !m.as_object().if_contains("name") ||
        !m.as_object().at("name").is_string())
      throw Error(ErrorKind::invalid_input, "each model must be an object with a \"name\"");
    const json::object& o = m.as_object();
    out.emplace_back(json::object{{"name", o.at("name")},
                                  {"digest", wire::string_field(o, "digest")},
                                  {"size", wire::int_field(o, "size")},
                                  {"family", wire::string_field(o, "family")}});
  }
  return out;
}

// At most this much text for one answer: generously above what max_tokens (or a long context)
// can produce, and never more than kMaxAnswerBytes.
constexpr std::size_t kMaxAnswerBytes = 64u << 20;
std::size_t answer_limit(const GenerationRequest& r) {
  const std::size_t tokens = r.max_tokens > 0 ? static_cast<std::size_t>(r.max_tokens) : 1u << 18;
  return std::min(kMaxAnswerBytes, tokens * 256 + 4096);
}

// What an agent's error may tell a client: never that the client's own credentials or state
// are wrong (a web page would take a 401 for a logout).
ErrorKind agent_error_kind(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
    case ErrorKind::not_found:
    case ErrorKind::unsupported:
    case ErrorKind::out_of_memory:
      return kind;
    default:
      return ErrorKind::unavailable;
  }
}

}  // namespace

AgentLink::AgentLink(std::shared_ptr<HubState> hub, AgentIdentity identity)
    : hub_(std::move(hub)), identity_(std::move(identity)) {}

void AgentLink::opened(Link link) {
  std::lock_guard lock(mutex_);
  link_ = std::move(link);
}

void AgentLink::send(const json::object& m) {
  std::function<void(std::string)> send;
  {
    std::lock_guard lock(mutex_);
    send = link_.send;
  }
  if (send) send(json_text(m));
}

void AgentLink::close(const std::string& reason, bool protocol_violation) {
  std::function<void(std::string)> close;
  {
    std::lock_guard lock(mutex_);
    close = protocol_violation ? link_.refuse : link_.close;
  }
  if (close) close(reason);
}

void AgentLink::message(std::string text) {
  try {
    std::string error;
    auto parsed = parse_json(text, &error);
    if (!parsed) throw Error(ErrorKind::invalid_input, "not JSON: " + error);
    json::value& v = *parsed;
    if (!v.is_object()) throw Error(ErrorKind::invalid_input, "a message must be a JSON object");
    handle(v.as_object());
  } catch (const std::exception& e) {
    SPDLOG_WARN("desktop agent {} ({}) sent a bad message: {}", identity_.name, identity_.agent_id,
                e.what());
    close(std::string("bad message: ") + e.what(), true);
  }
}

void AgentLink::handle(const json::object& m) {
  const std::string type = wire::string_field(m, "type");
  bool hello_done;
  {
    std::lock_guard lock(mutex_);
    hello_done = hello_;
  }
  if (!hello_done) {
    if (type != "hello") throw Error(ErrorKind::invalid_input, "the first message must be hello");
    hello(m);
    return;
  }
  if (type == "heartbeat") {
    const json::object& t = wire::object_field(m, "telemetry");
    if (json_text(t).size() > kMaxTelemetryBytes)
      throw Error(ErrorKind::invalid_input, "telemetry is too large");
    bool changed = false;
    {
      std::lock_guard lock(mutex_);
      telemetry_ = t;
      if (m.contains("models")) {
        models_ = checked_models(m.at("models"));
        changed = true;
      }
      // last_seen needs no more than a write every few heartbeats: a live agent's is "now".
      changed = changed || std::chrono::steady_clock::now() - persisted_at_ > std::chrono::seconds(30);
    }
    if (changed) persist();
    return;
  }
  if (type == "models") {
    {
      std::lock_guard lock(mutex_);
      models_ = checked_models(m.contains("models") ? m.at("models") : json::value(json::array{}));
    }
    persist();
    return;
  }
  const std::string id = wire::string_field(m, "id");
  if (type == "piece" || type == "done" || type == "error") {
    // Every field is read before the request is looked up: a malformed message then ends the
    // connection with its request still pending, so that the request fails (or moves to another
    // agent) with the others instead of waiting for an answer that never comes.
    GenerationEvent piece;
    if (type == "piece") wire::piece_from(m, piece);
    std::string finish_reason, message;
    Timings timings;
    ErrorKind error_kind = ErrorKind::unavailable;
    if (type == "done") {
      finish_reason = wire::string_field(m, "finish_reason", "stop");
      timings = wire::timings_from(m.contains("usage") ? m.at("usage") : json::value());
    } else if (type == "error") {
      error_kind = agent_error_kind(wire::kind_from(wire::string_field(m, "kind")));
      message = wire::string_field(m, "message");
    }
    std::shared_ptr<GenerationSink> sink;
    std::shared_ptr<ResponseStream> command;
    GenerationEvent e;
    bool over_limit = false;
    {
      std::lock_guard lock(mutex_);
      if (auto it = pending_.find(id); it != pending_.end()) {
        sink = it->second.sink;
        if (type == "piece") {
          it->second.got_piece = true;
          it->second.bytes += piece.text.size() + piece.reasoning.size();
          for (const auto& call : piece.tool_calls)
            it->second.bytes += call.name.size() + call.arguments.size();
          if (it->second.bytes > answer_limit(it->second.request)) {
            // More text than the request can produce: the agent is broken or hostile.
            pending_.erase(it);
            over_limit = true;
          }
        } else {
          pending_.erase(it);
          if (type == "done") ++served_;
        }
      } else if (auto c = commands_.find(id); c != commands_.end()) {
        command = c->second;
        if (type != "piece") commands_.erase(c);
      } else {
        return;  // a request cancelled since, or an id this agent was never sent
      }
    }
    if (command) {
      if (type == "done") {
        command->write(json_text(json::object{{"status", "success"}}) + "\n");
      } else if (type == "error") {
        command->write(json_text(json::object{{"error", message}}) + "\n");
      }
      if (type != "piece") command->finish();
      return;
    }
    if (over_limit) {
      send(json::object{{"type", "cancel"}, {"id", id}});
      (*sink)(error_event(ErrorKind::unavailable, where() + " sent more text than the request allows"));
      return;
    }
    if (type == "piece") {
      e = std::move(piece);
    } else if (type == "done") {
      e.kind = GenerationEvent::Kind::done;
      e.finish_reason = finish_reason == "length" ? "length" : "stop";
      e.timings = timings;
    } else {
      e = error_event(error_kind,
                      where() + ": " + (m.contains("message") ? message.substr(0, 2000) : "failed"));
    }
    (*sink)(std::move(e));
    return;
  }
  if (type == "progress") {
    std::shared_ptr<ResponseStream> command;
    {
      std::lock_guard lock(mutex_);
      if (auto c = commands_.find(id); c != commands_.end()) command = c->second;
    }
    if (command)
      command->write(json_text(json::object{{"status", wire::string_field(m, "status")},
                                            {"completed", wire::int_field(m, "completed")},
                                            {"total", wire::int_field(m, "total")}}) +
                     "\n");
    return;
  }
  // Unknown types are ignored: a newer agent may send more.
}

void AgentLink::hello(const json::object& m) {
  const std::int64_t protocol = wire::int_field(m, "protocol");
  if (protocol != wire::kProtocol)
    throw Error(ErrorKind::unsupported, "protocol " + std::to_string(protocol) +
                                            " is not spoken here; this hub speaks protocol " +
                                            std::to_string(wire::kProtocol));
  json::array models = checked_models(m.contains("models") ? m.at("models") : json::value(json::array{}));
  const json::object& hardware = wire::object_field(m, "hardware");
  if (json_text(hardware).size() > kMaxTelemetryBytes)
    throw Error(ErrorKind::invalid_input, "hardware is too large");
  db::DesktopHello row;
  row.user_id = identity_.user_id;
  row.connection_id = identity_.agent_id;
  row.app_version = wire::string_field(m, "version").substr(0, 64);
  row.os_info = wire::string_field(m, "os").substr(0, 200);
  row.hardware_info = json_text(hardware);
  row.local_models = json_text(models);
  {
    std::lock_guard lock(mutex_);
    hello_ = true;
    version_ = row.app_version;
    hardware_ = hardware;
    models_ = std::move(models);
    connected_at_ = std::chrono::system_clock::now();
  }
  // A newer connection of the same agent replaces the older one.
  std::shared_ptr<AgentLink> previous;
  {
    std::lock_guard lock(hub_->mutex);
    auto& slot = hub_->links[identity_.agent_id];
    previous = slot;
    slot = shared_from_this();
  }
  if (previous) previous->close("replaced by a newer connection of the same agent");
  // The row is refreshed, never made again: an agent revoked since it connected is closed here
  // (revoke() closes the agents it finds live; this catches one that said hello just after).
  std::weak_ptr<AgentLink> weak = weak_from_this();
  hub_->write([row, weak](db::Database& db) {
    if (!db::DesktopConnections(db).mark_connected(row))
      if (auto self = weak.lock()) self->close("this agent was revoked");
  });
  {
    std::lock_guard lock(mutex_);
    persisted_at_ = std::chrono::steady_clock::now();
  }
  send(json::object{{"type", "welcome"},
                    {"protocol", wire::kProtocol},
                    {"agent_id", identity_.agent_id},
                    {"heartbeat_s", wire::kHeartbeatSeconds}});
  SPDLOG_INFO("desktop agent '{}' ({}) connected", identity_.name, identity_.agent_id);
}

void AgentLink::closed(const std::string& why) {
  bool was_live;
  {
    std::lock_guard lock(mutex_);
    was_live = hello_ && !closed_;
    closed_ = true;
    link_ = {};
  }
  bool was_current = false;  // not replaced by a newer connection of the same agent
  {
    std::lock_guard lock(hub_->mutex);
    auto it = hub_->links.find(identity_.agent_id);
    if (it != hub_->links.end() && it->second.get() == this) {
      hub_->links.erase(it);
      was_current = true;
    }
  }
  if (was_live && was_current) {
    SPDLOG_INFO("desktop agent '{}' ({}) disconnected: {}", identity_.name, identity_.agent_id, why);
    const std::string id = identity_.agent_id;
    hub_->write([id](db::Database& db) {
      try {
        db::DesktopConnections(db).mark_disconnected(id);
      } catch (const Error&) {
        // revoked meanwhile: nothing to mark
      }
    });
  }
  fail_pending(why);
}

void AgentLink::fail_pending(const std::string& why) {
  std::map<std::string, Pending> pending;
  std::map<std::string, std::shared_ptr<ResponseStream>> commands;
  {
    std::lock_guard lock(mutex_);
    pending.swap(pending_);
    commands.swap(commands_);
  }
  for (auto& [id, c] : commands) {
    c->write(json_text(json::object{{"error", where() + " disconnected: " + why}}) + "\n");
    c->finish();
  }
  for (auto& [id, p] : pending) {
    if (p.request.cancelled && p.request.cancelled->load()) continue;
    if (!p.got_piece) {
      // Nothing reached the client yet: another of the user's agents may answer instead.
      if (auto other = hub_->reroute(identity_.user_id, p.request.model, this)) {
        SPDLOG_INFO("request {} moves from desktop '{}' to {}", id, identity_.name,
                    other->target->where());
        GenerationRequest again = std::move(p.request);
        again.model = other->model;
        auto sink = p.sink;
        other->target->submit(std::move(again), [sink](GenerationEvent&& e) { (*sink)(std::move(e)); });
        continue;
      }
      (*p.sink)(error_event(ErrorKind::unavailable,
                            where() + " disconnected before answering (" + why + ")"));
    } else {
      (*p.sink)(error_event(ErrorKind::unavailable,
                            where() + " disconnected in the middle of the answer (" + why + ")"));
    }
  }
}

void AgentLink::submit(GenerationRequest request, GenerationSink sink) {
  std::string id;
  json::object m;
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      id = "r" + std::to_string(next_id_++);
      m = wire::infer_message(id, request);
      pending_.emplace(id, Pending{std::move(request),
                                   std::make_shared<GenerationSink>(std::move(sink)), false});
    }
  }
  if (id.empty()) {  // closed between route() and here: as if it dropped before answering
    if (auto other = hub_->reroute(identity_.user_id, request.model, this)) {
      request.model = other->model;
      other->target->submit(std::move(request), std::move(sink));
      return;
    }
    sink(error_event(ErrorKind::unavailable, where() + " is not connected any more"));
    return;
  }
  send(m);
}

void AgentLink::send_cancels() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    for (auto it = pending_.begin(); it != pending_.end();) {
      const auto& flag = it->second.request.cancelled;
      if (flag && flag->load(std::memory_order_acquire)) {
        ids.push_back(it->first);
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const auto& id : ids) send(json::object{{"type", "cancel"}, {"id", id}});
}

void AgentLink::command(const std::string& type, const std::string& model,
                        std::shared_ptr<ResponseStream> out) {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    if (closed_) throw Error(ErrorKind::unavailable, where() + " is not connected");
    out->start(200, "application/x-ndjson");
    id = "c" + std::to_string(next_id_++);
    commands_.emplace(id, out);
  }
  send(json::object{{"type", type}, {"id", id}, {"model", model}});
}

void AgentLink::persist() {
  {
    std::lock_guard lock(mutex_);
    if (persist_queued_) return;
    persist_queued_ = true;
  }
  std::weak_ptr<AgentLink> weak = weak_from_this();
  const std::string id = identity_.agent_id;
  hub_->write([weak, id](db::Database& db) {
    auto self = weak.lock();
    if (!self) return;
    std::string models;
    {
      std::lock_guard lock(self->mutex_);
      self->persist_queued_ = false;
      self->persisted_at_ = std::chrono::steady_clock::now();
      models = json_text(self->models_);
    }
    db::DesktopConnections(db).touch(id, models);
  });
}

bool AgentLink::live() const {
  std::lock_guard lock(mutex_);
  return hello_ && !closed_;
}

std::string AgentLink::find_model(const std::string& model) const {
  const std::string full = wire::full_model_name(model);
  const bool tagged = full == model;
  std::lock_guard lock(mutex_);
  std::string only;
  int same_name = 0;
  for (const auto& m : models_) {
    const std::string name(m.as_object().at("name").as_string());
    if (name == full || name == model) return name;
    if (!tagged && name.rfind(model + ":", 0) == 0) {
      only = name;
      ++same_name;
    }
  }
  return same_name == 1 ? only : std::string();
}

double AgentLink::load() const {
  std::lock_guard lock(mutex_);
  double queue = 0;
  if (telemetry_.is_object())
    if (const auto* q = telemetry_.as_object().if_contains("queue"); q && q->is_number())
      queue = q->to_number<double>();
  return static_cast<double>(pending_.size()) + queue;
}

double AgentLink::speed() const {
  std::lock_guard lock(mutex_);
  if (telemetry_.is_object())
    if (const auto* s = telemetry_.as_object().if_contains("tokens_per_second"); s && s->is_number())
      return s->to_number<double>();
  return 0;
}

json::object AgentLink::describe() const {
  std::lock_guard lock(mutex_);
  return {{"status", "connected"},
          {"version", version_},
          {"connected_at", rfc3339(connected_at_)},
          {"hardware", hardware_},
          {"telemetry", telemetry_},
          {"models", models_},
          {"in_flight", pending_.size()},
          {"served", served_}};
}

json::array AgentLink::models() const {
  std::lock_guard lock(mutex_);
  return models_;
}

}  // namespace hearth::server
