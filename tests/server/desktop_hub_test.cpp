// DesktopHub without sockets: agents registered in a real SQLite database, their connections
// played by a recording Link, chats routed to them with the hub's own rules (docs/
// desktop-protocol.md): authentication, routing by user and model, balancing, pieces and ends,
// cancel, an agent that drops before or during an answer, bad messages.
#include "server/desktop_hub.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <chrono>
#include <mutex>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "server/desktop_wire.h"
#include "server/response_stream.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

namespace json = boost::json;

// One agent's connection as the hub sees it: what the hub sent, and whether it closed.
struct FakeConnection {
  std::mutex mutex;
  std::vector<json::object> sent;
  std::string closed_with;
  bool refused = false;  // closed as a protocol violation
  std::shared_ptr<WebSocketPeer> peer;

  void open(std::shared_ptr<WebSocketPeer> p) {
    peer = std::move(p);
    peer->opened({[this](std::string text) {
                    std::lock_guard lock(mutex);
                    sent.push_back(parse_json(text)->as_object());
                  },
                  [this](std::string reason) {
                    std::lock_guard lock(mutex);
                    closed_with = reason;
                  },
                  [this](std::string reason) {
                    std::lock_guard lock(mutex);
                    closed_with = reason;
                    refused = true;
                  }});
  }
  void say(const json::object& m) { peer->message(format_json(m)); }
  // The last message of that type the hub sent; waits up to 2 s (the cancel watcher runs on
  // its own thread).
  json::object last(const std::string& type) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mutex);
        for (auto it = sent.rbegin(); it != sent.rend(); ++it)
          if (it->at("type").as_string() == type) return *it;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the hub sent no " << type;
    return {};
  }
  std::size_t count(const std::string& type) {
    std::lock_guard lock(mutex);
    return std::count_if(sent.begin(), sent.end(),
                         [&](const json::object& m) { return m.at("type").as_string() == type; });
  }
};

// Events a routed chat received.
struct Events {
  std::mutex mutex;
  std::string text;
  std::vector<GenerationEvent> ends;
  GenerationSink sink() {
    return [this](GenerationEvent&& e) {
      std::lock_guard lock(mutex);
      if (e.kind == GenerationEvent::Kind::token) text += e.text;
      else ends.push_back(std::move(e));
    };
  }
};

json::object hello(const std::vector<std::string>& models) {
  json::array list;
  for (const auto& m : models) list.emplace_back(json::object{{"name", m}, {"size", 1}});
  return {{"type", "hello"}, {"protocol", 1}, {"name", "x"}, {"version", "test"},
          {"hardware", json::object{{"logical_cores", 8}}}, {"models", std::move(list)}};
}

class DesktopHubTest : public ::testing::Test {
 protected:
  DesktopHubTest()
      : db(db::Database::open("sqlite://" + (dir.path() / "hearth.db").string())),
        auth(db, AuthMode::required, false),
        hub(db) {
    ada = db::Users(db).create("ada", "", "").id;
    bob = db::Users(db).create("bob", "", "").id;
  }

  Request upgrade(const std::string& agent_id, const std::string& secret) {
    Request r;
    r.method = "GET";
    r.target = "/ws/desktop";
    r.headers = {{"x-hearth-agent", agent_id}, {"authorization", "Bearer " + secret}};
    return r;
  }
  // Registers an agent of `user`, connects it and says hello with `models`.
  FakeConnection* connect(std::int64_t user, const std::vector<std::string>& models,
                          std::string* agent_id = nullptr) {
    const json::object reg = hub.register_agent(user, "desk");
    FakeConnection* c = fresh();
    c->open(hub.accept(upgrade(std::string(reg.at("agent_id").as_string()),
                               std::string(reg.at("secret").as_string())),
                       auth));
    c->say(hello(models));
    if (agent_id) *agent_id = std::string(reg.at("agent_id").as_string());
    return c;
  }
  // A connection that outlives the hub (which may still close it as it goes).
  FakeConnection* fresh() { return connections.emplace_back(std::make_unique<FakeConnection>()).get(); }
  GenerationRequest chat(const std::string& model) {
    GenerationRequest r;
    r.model = model;
    r.messages = {{"user", "hi"}};
    r.max_tokens = 8;
    r.cancelled = std::make_shared<std::atomic<bool>>(false);
    return r;
  }

  test::TempDir dir;
  db::Database db;
  Authenticator auth;
  std::vector<std::unique_ptr<FakeConnection>> connections;
  DesktopHub hub;
  std::int64_t ada = 0, bob = 0;
};

TEST_F(DesktopHubTest, AnAgentAuthenticatesWithItsSecretOnly) {
  const json::object reg = hub.register_agent(ada, "laptop");
  const std::string id(reg.at("agent_id").as_string()), secret(reg.at("secret").as_string());
  EXPECT_EQ(secret.rfind("hagent_", 0), 0u);
  EXPECT_NE(hub.accept(upgrade(id, secret), auth), nullptr);
  for (const auto& [agent, credential] :
       std::vector<std::pair<std::string, std::string>>{{id, secret + "x"},
                                                        {id, "hagent_" + std::string(43, 'A')},
                                                        {"agt_nope", secret},
                                                        {"", secret},
                                                        {id, ""}}) {
    try {
      hub.accept(upgrade(agent, credential), auth);
      ADD_FAILURE() << "accepted " << agent << " / " << credential;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::unauthorized) << e.what();
    }
  }
  // A user's API token works for that user's agent, not another user's.
  const std::string ada_token = db::ApiTokens(db).create(ada, "t").plaintext;
  const std::string bob_token = db::ApiTokens(db).create(bob, "t").plaintext;
  EXPECT_NE(hub.accept(upgrade(id, ada_token), auth), nullptr);
  EXPECT_THROW(hub.accept(upgrade(id, bob_token), auth), Error);
  // Revoked: the old secret no longer opens anything; another user cannot revoke it.
  EXPECT_THROW(hub.revoke(bob, id), Error);
  hub.revoke(ada, id);
  EXPECT_THROW(hub.accept(upgrade(id, secret), auth), Error);
  EXPECT_THROW(hub.register_agent(ada, std::string(65, 'n')), Error);
  EXPECT_THROW(hub.register_agent(ada, "bad\nname"), Error);
}

TEST_F(DesktopHubTest, ChatsReachOnlyTheCallersAgentThatHasTheModel) {
  auto desk = connect(ada, {"desk-tiny:latest"});
  EXPECT_EQ(desk->last("welcome").at("protocol").as_int64(), 1);
  EXPECT_FALSE(hub.route(bob, "desk-tiny").has_value());
  EXPECT_FALSE(hub.route(ada, "other").has_value());
  auto route = hub.route(ada, "desk-tiny");
  ASSERT_TRUE(route.has_value());
  EXPECT_EQ(route->model, "desk-tiny:latest");
  EXPECT_EQ(route->target->where(), "desktop 'desk'");

  Events events;
  GenerationRequest r = chat(route->model);
  r.sampling.temperature = 0.25f;
  r.stop = {"END"};
  route->target->submit(r, events.sink());
  const json::object infer = desk->last("infer");
  const GenerationRequest back = wire::request_from_infer(infer);
  EXPECT_EQ(back.model, "desk-tiny:latest");
  ASSERT_EQ(back.messages.size(), 1u);
  EXPECT_EQ(back.messages[0].content, "hi");
  EXPECT_FLOAT_EQ(back.sampling.temperature, 0.25f);
  EXPECT_EQ(back.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(back.max_tokens, 8);

  const std::string id(infer.at("id").as_string());
  desk->say({{"type", "piece"}, {"id", id}, {"text", "Hel"}});
  desk->say({{"type", "piece"}, {"id", "r999"}, {"text", "not ours"}});  // ignored
  desk->say({{"type", "piece"}, {"id", id}, {"text", "lo"}});
  desk->say({{"type", "done"}, {"id", id}, {"finish_reason", "length"},
             {"usage", json::object{{"prompt_tokens", 5}, {"completion_tokens", 2}}}});
  desk->say({{"type", "piece"}, {"id", id}, {"text", "late"}});  // after the end: ignored
  EXPECT_EQ(events.text, "Hello");
  ASSERT_EQ(events.ends.size(), 1u);
  EXPECT_EQ(events.ends[0].kind, GenerationEvent::Kind::done);
  EXPECT_EQ(events.ends[0].finish_reason, "length");
  EXPECT_EQ(events.ends[0].timings.prompt_tokens, 5);
  EXPECT_EQ(events.ends[0].timings.completion_tokens, 2);

  const json::array agents = hub.agents(ada);
  ASSERT_EQ(agents.size(), 1u);
  EXPECT_EQ(agents[0].at("status").as_string(), "connected");
  EXPECT_EQ(agents[0].at("served").as_uint64(), 1u);
  EXPECT_TRUE(hub.agents(bob).empty());
  EXPECT_EQ(hub.models(ada).size(), 1u);
  EXPECT_TRUE(hub.models(bob).empty());
}

TEST_F(DesktopHubTest, BalancesByLoadAndCancelsWhenTheClientLeaves) {
  auto first = connect(ada, {"m:latest"});
  auto second = connect(ada, {"m:latest"});
  Events a, b;
  auto r1 = hub.route(ada, "m");
  GenerationRequest busy = chat(r1->model);
  auto cancelled = busy.cancelled;
  r1->target->submit(busy, a.sink());
  auto r2 = hub.route(ada, "m");
  EXPECT_NE(r1->target.get(), r2->target.get()) << "the idle agent should get the second chat";
  r2->target->submit(chat(r2->model), b.sink());
  EXPECT_EQ(first->count("infer") + second->count("infer"), 2u);

  // The client of the first chat goes away: the agent that runs it is told to stop.
  cancelled->store(true);
  bool told = false;
  for (int i = 0; i < 200 && !told; ++i) {
    told = first->count("cancel") + second->count("cancel") == 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(told) << "no cancel message within 2 s";
}

TEST_F(DesktopHubTest, AnAgentThatDropsBeforeAnsweringHandsTheChatToAnother) {
  auto first = connect(ada, {"m:latest"});
  Events events;
  auto route = hub.route(ada, "m");
  route->target->submit(chat(route->model), events.sink());
  auto second = connect(ada, {"m:latest"});
  first->peer->closed("connection reset");
  const json::object moved = second->last("infer");
  second->say({{"type", "piece"}, {"id", moved.at("id")}, {"text", "ok"}});
  second->say({{"type", "done"}, {"id", moved.at("id")}, {"finish_reason", "stop"}});
  EXPECT_EQ(events.text, "ok");
  ASSERT_EQ(events.ends.size(), 1u);
  EXPECT_EQ(events.ends[0].kind, GenerationEvent::Kind::done);
}

TEST_F(DesktopHubTest, AnAgentThatDropsMidAnswerEndsTheChatWithAnError) {
  std::string id;
  auto desk = connect(ada, {"m:latest"}, &id);
  Events events;
  auto route = hub.route(ada, "m");
  route->target->submit(chat(route->model), events.sink());
  const json::object infer = desk->last("infer");
  desk->say({{"type", "piece"}, {"id", infer.at("id")}, {"text", "par"}});
  auto other = connect(ada, {"m:latest"});  // too late: part of the answer was sent
  desk->peer->closed("end of stream");
  ASSERT_EQ(events.ends.size(), 1u);
  EXPECT_EQ(events.ends[0].kind, GenerationEvent::Kind::error);
  EXPECT_NE(events.ends[0].error.find("disconnected in the middle"), std::string::npos)
      << events.ends[0].error;
  EXPECT_EQ(other->count("infer"), 0u);
  // The hub forgets the dropped link; the row says disconnected.
  for (const auto& a : hub.agents(ada))
    if (a.at("id").as_string() == id) {
      EXPECT_EQ(a.at("status").as_string(), "disconnected");
    }
}

TEST_F(DesktopHubTest, InstallAndRemoveStreamTheAgentsProgress) {
  std::string id;
  auto desk = connect(ada, {"m:latest"}, &id);
  EXPECT_THROW(hub.install(bob, id, "qwen2.5:0.5b"), Error);  // not bob's agent
  for (const char* bad : {"https://evil.example/x.gguf", "/etc/passwd", "hf://o/r/f.gguf", ""})
    EXPECT_THROW(hub.install(ada, id, bad), Error) << bad;
  Response r = hub.install(ada, id, "qwen2.5:0.5b");
  ASSERT_TRUE(r.stream);
  const json::object install = desk->last("install");
  EXPECT_EQ(install.at("model").as_string(), "qwen2.5:0.5b");
  desk->say({{"type", "progress"}, {"id", install.at("id")}, {"status", "pulling"},
             {"completed", 5}, {"total", 10}});
  desk->say({{"type", "done"}, {"id", install.at("id")}});
  ResponseStream::Taken t = r.stream->take();
  EXPECT_TRUE(t.finished);
  EXPECT_NE(t.data.find("\"completed\":5"), std::string::npos) << t.data;
  EXPECT_NE(t.data.find("\"status\":\"success\""), std::string::npos) << t.data;

  Response removal = hub.remove_model(ada, id, "m:latest");
  const json::object remove = desk->last("remove");
  desk->say({{"type", "error"}, {"id", remove.at("id")}, {"kind", "not_found"},
             {"message", "no model m"}});
  t = removal.stream->take();
  EXPECT_TRUE(t.finished);
  EXPECT_NE(t.data.find("no model m"), std::string::npos) << t.data;
}

TEST_F(DesktopHubTest, AnAgentRevokedBeforeItsHelloIsClosedAndStaysGone) {
  const json::object reg = hub.register_agent(ada, "desk");
  const std::string id(reg.at("agent_id").as_string());
  FakeConnection* c = fresh();
  c->open(hub.accept(upgrade(id, std::string(reg.at("secret").as_string())), auth));
  hub.revoke(ada, id);  // not live yet: nothing to close now
  c->say(hello({"m:latest"}));
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    {
      std::lock_guard lock(c->mutex);
      closed = !c->closed_with.empty();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(c->closed_with.find("revoked"), std::string::npos) << c->closed_with;
  EXPECT_FALSE(c->refused);
  EXPECT_TRUE(hub.agents(ada).empty()) << "the row came back";
}

TEST_F(DesktopHubTest, AnAnswerLongerThanTheRequestAllowsIsCut) {
  auto desk = connect(ada, {"m:latest"});
  Events events;
  auto route = hub.route(ada, "m");
  GenerationRequest r = chat(route->model);
  r.max_tokens = 2;  // at most 2 * 256 + 4096 bytes of text
  route->target->submit(r, events.sink());
  const json::object infer = desk->last("infer");
  desk->say({{"type", "piece"}, {"id", infer.at("id")}, {"text", std::string(6000, 'x')}});
  desk->say({{"type", "done"}, {"id", infer.at("id")}, {"finish_reason", "stop"}});
  ASSERT_EQ(events.ends.size(), 1u);
  EXPECT_EQ(events.ends[0].kind, GenerationEvent::Kind::error);
  EXPECT_EQ(desk->last("cancel").at("id"), infer.at("id"));
  // An agent's "unauthorized" never reaches a client as its own 401.
  Events other;
  route->target->submit(chat(route->model), other.sink());
  const json::object second = desk->last("infer");
  desk->say({{"type", "error"}, {"id", second.at("id")}, {"kind", "unauthorized"}, {"message", "no"}});
  ASSERT_EQ(other.ends.size(), 1u);
  EXPECT_EQ(other.ends[0].error_kind, ErrorKind::unavailable);
}

TEST_F(DesktopHubTest, BadMessagesCloseTheConnection) {
  const json::object reg = hub.register_agent(ada, "desk");
  FakeConnection* c = fresh();
  c->open(hub.accept(upgrade(std::string(reg.at("agent_id").as_string()),
                             std::string(reg.at("secret").as_string())),
                     auth));
  c->say({{"type", "heartbeat"}});  // before hello
  EXPECT_NE(c->closed_with.find("hello"), std::string::npos) << c->closed_with;
  EXPECT_TRUE(c->refused);

  auto d = connect(ada, {"m:latest"});
  d->peer->message("{not json");
  EXPECT_NE(d->closed_with.find("not JSON"), std::string::npos) << d->closed_with;
  auto e = connect(ada, {"m:latest"});
  e->say({{"type", "models"}, {"models", json::array{json::object{{"name", 5}}}}});
  EXPECT_FALSE(e->closed_with.empty());
  FakeConnection* f = fresh();
  const json::object reg2 = hub.register_agent(ada, "desk2");
  f->open(hub.accept(upgrade(std::string(reg2.at("agent_id").as_string()),
                             std::string(reg2.at("secret").as_string())),
                     auth));
  json::object old = hello({"m"});
  old["protocol"] = 7;
  f->say(old);
  EXPECT_NE(f->closed_with.find("protocol 7"), std::string::npos) << f->closed_with;
}

// Wrong agent secrets count against the connecting address like wrong API keys (auth.h): past
// the limit that address is told to wait (429), while the right secret still opens the agent.
TEST_F(DesktopHubTest, WrongSecretsFromOneAddressAreRateLimited) {
  config::set_override("HEARTH_AUTH_FAILURES", "2");
  Authenticator limited(db, AuthMode::required, false);
  config::set_override("HEARTH_AUTH_FAILURES", "");
  const json::object reg = hub.register_agent(ada, "laptop");
  const std::string id(reg.at("agent_id").as_string()), secret(reg.at("secret").as_string());
  const auto from = [&](const std::string& credential, const std::string& address) {
    Request r = upgrade(id, credential);
    r.client_address = address;
    return r;
  };
  for (int i = 0; i < 2; ++i) {
    try {
      hub.accept(from(secret + "x", "10.0.0.1"), limited);
      ADD_FAILURE() << "accepted a wrong secret";
    } catch (const TooManyRequests&) {
      ADD_FAILURE() << "limited after " << i << " failures";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::unauthorized) << e.what();
    }
  }
  EXPECT_THROW(hub.accept(from(secret + "x", "10.0.0.1"), limited), TooManyRequests);
  EXPECT_NE(hub.accept(from(secret, "10.0.0.1"), limited), nullptr);
  try {
    hub.accept(from(secret + "x", "10.0.0.2"), limited);
    ADD_FAILURE() << "accepted a wrong secret";
  } catch (const TooManyRequests&) {
    ADD_FAILURE() << "another address was limited";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unauthorized) << e.what();
  }
}

}  // namespace
}  // namespace hearth::server
