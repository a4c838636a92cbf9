// The agent's side of one connection to a hub (docs/desktop-protocol.md), without sockets:
// connection.cpp feeds it the hub's messages and sends what it queues through `send`.
#pragma once

#include <boost/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/agent.h"
#include "hardware/hardware.h"

namespace hearth::agent {

class AgentSession : public std::enable_shared_from_this<AgentSession> {
 public:
  // `send` queues one text frame; it must be safe from any thread and harmless once the
  // connection is gone (the engine may still finish a piece after that).
  AgentSession(AgentContext& context, std::function<void(std::string)> send, std::string name);

  boost::json::object hello() const;
  boost::json::object heartbeat();
  // One message of the hub. Error(invalid_input) for a malformed one (the connection then
  // closes). Returns the welcome message once it arrives (else null).
  boost::json::value message(const std::string& text);
  // The connection ended: every generation still running is cancelled.
  void closed();

 private:
  void infer(const boost::json::object& m);
  void install(const std::string& id, const std::string& model);
  void remove(const std::string& id, const std::string& model);
  void send(const boost::json::object& m) const;
  void send_error(const std::string& id, std::string_view kind, const std::string& message) const;
  boost::json::array models() const;

  AgentContext& context_;
  std::function<void(std::string)> send_;
  std::string name_;
  std::int64_t user_id_ = 0;  // the machine's local user owns the models served
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> running_;  // by request id
  std::uint64_t cpu_busy_ = 0, cpu_total_ = 0;  // /proc/stat at the last heartbeat
  std::vector<hardware::GpuInfo> gpus_;          // probed once, for the heartbeats
};

}  // namespace hearth::agent
