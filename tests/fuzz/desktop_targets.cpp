// The desktop protocol's readers (docs/desktop-protocol.md), both ends, fed mutated messages.
//
// hub:   an input is a conversation of an agent with the hub: text frames separated by "\n~~\n",
//        given to a fresh AgentLink (DesktopHub::accept of a registered agent). When a frame holds
//        "{{id}}", a chat is routed to the link after its hello and "{{id}}" becomes that
//        request's id, so that pieces, done and errors reach a live request. Oracle: message()
//        never throws; the hub's listings still work; the routed chat gets exactly one end (done
//        or error), nothing after it, and gets it by the time the connection closes at the
//        latest.
// agent: an input is frames of a hub to an AgentSession on this machine's engine (the installed
//        model), and each frame is also read by wire::request_from_infer. Oracle: a bad frame is
//        Error(invalid_input) or Error(unsupported), nothing else escapes.
#include <boost/json.hpp>

#include <mutex>

#include "agent/session.h"
#include "core/error.h"
#include "fuzz/fuzz.h"
#include "fuzz/world.h"
#include "server/desktop_hub.h"
#include "server/desktop_wire.h"
#include "server/routing.h"

namespace hearth::fuzz {
namespace {

namespace json = boost::json;

const std::string kSeparator = "\n~~\n";

std::vector<std::string> frames_of(const std::string& input) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto at = input.find(kSeparator, start);
    out.push_back(input.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + kSeparator.size();
  }
}

std::string joined(const std::vector<std::string>& frames) {
  std::string out;
  for (std::size_t i = 0; i < frames.size(); ++i) out += (i ? kSeparator : "") + frames[i];
  return out;
}

// Mutates one frame of the conversation (JSON-aware mostly), or drops, repeats or reorders one.
std::string mutate_frames(const std::string& seed, Rng& rng) {
  std::vector<std::string> frames = frames_of(seed);
  const std::size_t i = rng.below(frames.size());
  switch (rng.below(8)) {
    case 0: frames.erase(frames.begin() + static_cast<long>(i)); break;
    case 1: frames.insert(frames.begin() + static_cast<long>(i), frames[rng.below(frames.size())]); break;
    case 2: std::swap(frames[i], frames[rng.below(frames.size())]); break;
    case 3: frames[i] = mutate_bytes(frames[i], rng); break;
    default: frames[i] = mutate_json(frames[i], rng); break;
  }
  if (frames.empty()) frames.push_back("{}");
  return joined(frames);
}

const std::string kHello =
    R"({"type":"hello","protocol":1,"version":"1.0","os":"linux","hardware":{"cpu":"x","cores":4,"memory":1000},"models":[{"name":"m:latest","size":10,"family":"llama"}]})";

class HubTarget : public Target {
 public:
  std::string name() const override { return "hub"; }

  void setup() override {
    World& w = World::get();
    hub_ = w.api().desktops;
    const json::object agent = hub_->register_agent(w.local_user, "fuzzhub");
    agent_id_ = std::string(agent.at("agent_id").as_string());
    secret_ = std::string(agent.at("secret").as_string());
  }

  std::vector<std::string> seeds() override {
    const std::string heartbeat =
        R"({"type":"heartbeat","telemetry":{"cpu_percent":12.5,"memory_used":1,"memory_total":2,"gpus":[],"loaded_models":["m:latest"],"queue":0,"active":1,"tokens_per_second":30.5},"models":[{"name":"m:latest"}]})";
    const std::string piece = R"({"type":"piece","id":"{{id}}","text":"hel"})";
    const std::string done =
        R"({"type":"done","id":"{{id}}","finish_reason":"stop","usage":{"prompt_tokens":3,"completion_tokens":2,"prompt_ms":1.5,"completion_ms":2.5}})";
    const std::string error = R"({"type":"error","id":"{{id}}","kind":"not_found","message":"no such model"})";
    return {
        kHello,
        joined({kHello, heartbeat}),
        joined({kHello, R"({"type":"models","models":[{"name":"a:latest"},{"name":"b:7b","size":3}]})"}),
        joined({kHello, piece, piece, done}),
        joined({kHello, piece, error}),
        joined({kHello, R"({"type":"progress","id":"x","status":"pulling","completed":5,"total":10})"}),
        joined({kHello, heartbeat, piece, done, R"({"type":"unknown"})"}),
    };
  }

  std::string mutate(const std::string& seed, Rng& rng) override { return mutate_frames(seed, rng); }

  Outcome run(const std::string& input, Rng&) override {
    World& w = World::get();
    server::Request upgrade;
    upgrade.method = "GET";
    upgrade.target = "/ws/desktop";
    upgrade.headers = {{"x-hearth-agent", agent_id_}, {"authorization", "Bearer " + secret_}};
    const std::shared_ptr<server::WebSocketPeer> peer = hub_->accept(upgrade, w.api().auth);
    auto state = std::make_shared<LinkState>();
    peer->opened({[state](std::string text) { state->sent(std::move(text)); },
                  [state](std::string) { state->set_closed(false); },
                  [state](std::string) { state->set_closed(true); }});
    auto target = std::dynamic_pointer_cast<server::GenerationTarget>(peer);
    const bool route_chat = input.find("{{id}}") != std::string::npos && target != nullptr;
    Outcome o;
    bool submitted = false;
    for (std::string frame : frames_of(input)) {
      if (state->closed()) break;
      if (route_chat && !submitted && state->welcomed()) {
        server::GenerationRequest request;
        request.model = "m:latest";
        request.messages = {{"user", "hi"}};
        request.max_tokens = 8;
        target->submit(std::move(request), [state](server::GenerationEvent&& e) { state->event(e); });
        submitted = true;
      }
      const std::string id = state->infer_id();
      for (auto at = frame.find("{{id}}"); at != std::string::npos && !id.empty(); at = frame.find("{{id}}"))
        frame.replace(at, 6, id);
      peer->message(std::move(frame));
    }
    hub_->agents(w.local_user);
    hub_->models(w.local_user);
    hub_->route(w.local_user, "m:latest");
    peer->closed("the input ended");
    o.failure = state->problem(submitted);
    o.label = state->refused() ? "refused" : state->closed() ? "closed" : "kept";
    return o;
  }

 private:
  // What the link did: frames it sent, whether it closed, the routed chat's events.
  class LinkState {
   public:
    void sent(std::string text) {
      std::lock_guard lock(mutex_);
      try {
        const json::value v = json::parse(text);
        const auto& m = v.as_object();
        if (m.at("type") == "welcome") welcomed_ = true;
        if (m.at("type") == "infer") infer_id_ = std::string(m.at("id").as_string());
      } catch (const std::exception&) {
        problem_ = "the hub sent a frame that is not a JSON message: " + text.substr(0, 200);
      }
    }
    void set_closed(bool refused) {
      std::lock_guard lock(mutex_);
      closed_ = true;
      refused_ = refused_ || refused;
    }
    void event(const server::GenerationEvent& e) {
      std::lock_guard lock(mutex_);
      if (ended_) problem_ = "the routed chat got an event after its end";
      if (e.kind != server::GenerationEvent::Kind::token) ended_ = true;
    }
    bool closed() {
      std::lock_guard lock(mutex_);
      return closed_;
    }
    bool refused() {
      std::lock_guard lock(mutex_);
      return refused_;
    }
    bool welcomed() {
      std::lock_guard lock(mutex_);
      return welcomed_;
    }
    std::string infer_id() {
      std::lock_guard lock(mutex_);
      return infer_id_;
    }
    std::string problem(bool submitted) {
      std::lock_guard lock(mutex_);
      if (problem_.empty() && submitted && !ended_)
        return "the routed chat did not end when the connection closed";
      return problem_;
    }

   private:
    std::mutex mutex_;
    bool closed_ = false, refused_ = false, welcomed_ = false, ended_ = false;
    std::string infer_id_, problem_;
  };

  server::DesktopHub* hub_ = nullptr;
  std::string agent_id_, secret_;
};

class AgentTarget : public Target {
 public:
  std::string name() const override { return "agent"; }

  void setup() override {
    World& w = World::get();
    context_ = std::make_unique<agent::AgentContext>(
        agent::AgentContext{w.api().store, w.api().library, w.api().scheduler});
    model_ = w.model.empty() ? "m" : w.model;
  }

  std::vector<std::string> seeds() override {
    const std::string welcome = R"({"type":"welcome","protocol":1,"agent_id":"agt_x","heartbeat_s":5})";
    const std::string infer =
        R"({"type":"infer","id":"r1","model":")" + model_ +
        R"(","messages":[{"role":"user","content":"hi"}],"options":{"temperature":0,"top_k":1,"top_p":0.5,"seed":7,"max_tokens":3,"stop":["x"],"num_ctx":128,"json":false,"keep_alive_ms":1000}})";
    const std::string raw =
        R"({"type":"infer","id":"r2","model":")" + model_ +
        R"(","prompt":"once","apply_template":false,"options":{"max_tokens":2}})";
    return {
        welcome,
        joined({welcome, infer}),
        joined({welcome, infer, R"({"type":"cancel","id":"r1"})"}),
        joined({welcome, raw}),
        joined({welcome, R"({"type":"install","id":"i1","model":"qwen2.5:0.5b"})"}),
        joined({welcome, R"({"type":"remove","id":"i2","model":"nothing-here"})"}),
        joined({welcome, R"({"type":"error","message":"slow down"})"}),
    };
  }

  std::string mutate(const std::string& seed, Rng& rng) override { return mutate_frames(seed, rng); }

  Outcome run(const std::string& input, Rng&) override {
    auto session = std::make_shared<agent::AgentSession>(*context_, [](std::string) {}, "fuzz");
    session->hello();
    Outcome o;
    o.label = "read";
    for (const std::string& frame : frames_of(input)) {
      try {
        session->message(frame);
      } catch (const Error& e) {
        o.label = "refused";
        if (e.kind() != ErrorKind::invalid_input && e.kind() != ErrorKind::unsupported)
          o.failure = std::string("AgentSession::message: Error(") + std::string(error_kind_name(e.kind())) +
                      "): " + e.what();
      }
      try {
        const json::value v = json::parse(frame);
        if (v.is_object()) server::wire::request_from_infer(v.as_object());
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::invalid_input)
          o.failure = std::string("request_from_infer: Error(") + std::string(error_kind_name(e.kind())) + "): " + e.what();
      } catch (const boost::system::system_error&) {
        // not JSON: json::parse's refusal, not the reader's
      }
      if (!o.failure.empty()) break;
    }
    session->closed();
    return o;
  }

 private:
  std::unique_ptr<agent::AgentContext> context_;
  std::string model_;
};

}  // namespace

std::unique_ptr<Target> make_hub_target() { return std::make_unique<HubTarget>(); }
std::unique_ptr<Target> make_agent_target() { return std::make_unique<AgentTarget>(); }

}  // namespace hearth::fuzz
