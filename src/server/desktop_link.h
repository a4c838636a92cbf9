// One connected agent as the hub sees it (desktop_hub.h): the WebSocket peer of its connection
// and the GenerationTarget that chats routed to it are submitted to. Private to the hub.
#pragma once

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "db/db.h"
#include "server/response_stream.h"
#include "server/routing.h"
#include "server/server.h"

namespace hearth::server {

struct HubState;

struct AgentIdentity {
  std::int64_t user_id = 0;
  std::string agent_id;
  std::string name;
};

class AgentLink : public WebSocketPeer,
                  public GenerationTarget,
                  public std::enable_shared_from_this<AgentLink> {
 public:
  AgentLink(std::shared_ptr<HubState> hub, AgentIdentity identity);

  // ---- WebSocketPeer (the I/O thread) ----
  void opened(Link link) override;
  void message(std::string text) override;
  void closed(const std::string& why) override;

  // ---- GenerationTarget ----
  void submit(GenerationRequest request, GenerationSink sink) override;
  std::string where() const override { return "desktop '" + identity_.name + "'"; }

  // ---- for the hub ----
  const AgentIdentity& identity() const { return identity_; }
  bool live() const;           // hello received, connection not ended
  // The installed name matching `model` ("x" finds "x:latest", or the one tag of x), or "".
  std::string find_model(const std::string& model) const;
  double load() const;         // requests in flight plus reported queue
  double speed() const;        // reported tokens per second
  boost::json::object describe() const;  // live fields of GET /api/desktop/agents
  boost::json::array models() const;
  // Sends cancel for requests whose client went away (the hub's watcher, every ~100 ms).
  void send_cancels();
  // install / remove: a command whose progress lines stream into `out`.
  void command(const std::string& type, const std::string& model,
               std::shared_ptr<ResponseStream> out);
  void close(const std::string& reason, bool protocol_violation = false);

 private:
  struct Pending {
    GenerationRequest request;
    std::shared_ptr<GenerationSink> sink;
    bool got_piece = false;
    std::size_t bytes = 0;  // text received so far, held against the request's limit
  };
  // Queues one database write of the row's state (last seen, models); while one is queued,
  // later changes ride along with it, so a chatty agent cannot flood the writer.
  void persist();
  void handle(const boost::json::object& m);
  void hello(const boost::json::object& m);
  void send(const boost::json::object& m);
  void fail_pending(const std::string& why);

  std::shared_ptr<HubState> hub_;
  const AgentIdentity identity_;
  mutable std::mutex mutex_;
  Link link_;
  bool hello_ = false;
  bool closed_ = false;
  std::string version_;
  boost::json::value hardware_ = boost::json::object{};
  boost::json::array models_;
  boost::json::value telemetry_ = nullptr;
  std::chrono::system_clock::time_point connected_at_ = std::chrono::system_clock::now();
  std::map<std::string, Pending> pending_;
  std::map<std::string, std::shared_ptr<ResponseStream>> commands_;
  std::uint64_t next_id_ = 1;
  std::uint64_t served_ = 0;
  bool persist_queued_ = false;
  std::chrono::steady_clock::time_point persisted_at_{};
};

// What the hub's parts share: the database, its writer thread and the live links by agent id.
struct HubState : std::enable_shared_from_this<HubState> {
  explicit HubState(db::Database database);
  ~HubState();
  db::Database db;
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<AgentLink>> links;  // live (after hello), by agent id
  // Database writes, one after another, off the I/O thread; dropped once the hub stops.
  void write(std::function<void(db::Database&)> work);
  void stop_writing();  // finishes the writes queued so far
  // Another live agent of the user with the model, for a request its first agent dropped before
  // answering; nullopt when there is none.
  std::optional<Route> reroute(std::int64_t user_id, const std::string& model,
                               const AgentLink* except);

 private:
  std::mutex writer_mutex_;
  std::unique_ptr<class ThreadPool> writer_;
};

}  // namespace hearth::server
