// RemoteEngines against a real second `hearth serve` on loopback with a tiny synthesized model:
// the model list is discovered from its GET /models, a chat streams tokens and ends with usage;
// an engine given to one user is not another's; with the server gone, chats fail with errors
// naming the remote (never its key) and three of them open the circuit, so route() passes the
// engine by and the listing says unhealthy; the server back on the same port closes it again
// after the cooldown, through a health check.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <thread>

#include "core/config.h"
#include "db/remote_engines.h"
#include "loop/remote_settings.h"
#include "server/remote_engines.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

using namespace std::chrono_literals;

// Everything one submit() gave its sink.
struct Outcome {
  std::mutex mutex;
  std::condition_variable cv;
  std::string text;
  int tokens = 0;
  bool ended = false;
  GenerationEvent last;

  GenerationSink sink() {
    return [this](GenerationEvent&& e) {
      std::lock_guard lock(mutex);
      if (e.kind == GenerationEvent::Kind::token) {
        text += e.text;
        ++tokens;
        return;
      }
      EXPECT_FALSE(ended) << "a second final event";
      ended = true;
      last = std::move(e);
      cv.notify_all();
    };
  }
  bool wait(std::chrono::seconds limit = 60s) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [this] { return ended; });
  }
};

GenerationRequest hello(int max_tokens = 8) {
  GenerationRequest r;
  r.messages = {{"user", "hello there"}};
  r.max_tokens = max_tokens;
  r.sampling.seed = 1;
  return r;
}

bool serves(const boost::json::array& models, const std::string& remote, bool healthy) {
  for (const auto& m : models)
    if (m.at("remote").as_string() == remote &&
        (m.at("name").as_string() == "tiny" || m.at("name").as_string() == "tiny:latest") &&
        m.at("where").as_string() == "remote" && m.at("healthy").as_bool() == healthy)
      return true;
  return false;
}

class RemoteEnginesEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    // The remote: a HEARTH_HOME with a tiny random model installed as "tiny".
    const std::string file = (remote_home_.path() / "tiny.gguf").string();
    const test::Env env{{"HEARTH_HOME", remote_home_.path().string()}};
    auto r = test::run_hearth({"synth", "--shape", "tiny", "--type", "F16", "--seed", "1", "-o",
                               file, "--force"},
                              env);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = test::run_hearth({"pull", file, "--name", "tiny"}, env);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    start_remote(0);
    // The hub's side: its own HEARTH_HOME (the key file) and database.
    config::set_override("HEARTH_HOME", hub_home_.path().string());
    db_ = std::make_unique<db::Database>(
        db::Database::open("sqlite://" + (hub_home_.path() / "hub.db").string()));
    db::Users users(*db_);
    ada_ = users.create("ada", "", "").id;
    bo_ = users.create("bo", "", "").id;
  }
  void TearDown() override { config::set_override("HEARTH_HOME", ""); }

  void start_remote(int port) {
    remote_ = std::make_unique<test::ServerProcess>(remote_home_.path(), std::vector<std::string>{},
                                                    test::Env{}, port);
    ASSERT_TRUE(remote_->wait_listening(20s)) << remote_->output();
  }

  test::TempDir remote_home_, hub_home_;
  std::unique_ptr<test::ServerProcess> remote_;
  std::unique_ptr<db::Database> db_;
  std::int64_t ada_ = 0, bo_ = 0;
};

TEST_F(RemoteEnginesEndToEnd, StreamsFailsOpensAndRecovers) {
  const std::string base = remote_->url("/v1");
  const std::string key = "not-needed-but-secret-k3y";
  db::RemoteEngineRows rows(*db_);
  rows.add({.name = "r1",
            .base_url = base,
            .sealed_key = loop::seal_secret(key, loop::remote_key_file())});  // discovered
  rows.add({.name = "ada-only", .base_url = base, .models = {"tiny"}, .user_id = ada_});

  RemoteEngines::Options options;
  options.health_interval = 1s;
  options.cooldown = 2s;
  options.health_timeout = 2s;
  options.threads = 2;
  RemoteEngines engines(*db_, options);

  // Nothing discovered yet: only ada's engine, which names its model, serves "tiny".
  EXPECT_FALSE(engines.route(bo_, "tiny"));
  engines.check_now();
  EXPECT_TRUE(serves(engines.models(bo_), "r1", true)) << engines.models(bo_);
  EXPECT_FALSE(serves(engines.models(bo_), "ada-only", true)) << engines.models(bo_);
  EXPECT_TRUE(serves(engines.models(ada_), "ada-only", true)) << engines.models(ada_);
  EXPECT_FALSE(engines.route(bo_, "missing"));

  // Ada's own engine comes first for her; bo gets the shared one.
  auto route = engines.route(ada_, "tiny:latest");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->target->where(), "remote 'ada-only'");
  route = engines.route(bo_, "tiny");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->target->where(), "remote 'r1'");
  EXPECT_EQ(route->model, "tiny:latest");  // the remote's own name for it (discovered)

  {
    Outcome out;
    GenerationRequest r = hello();
    r.model = route->model;
    route->target->submit(std::move(r), out.sink());
    ASSERT_TRUE(out.wait());
    ASSERT_EQ(out.last.kind, GenerationEvent::Kind::done) << out.last.error;
    EXPECT_GT(out.tokens, 0);
    EXPECT_FALSE(out.text.empty());
    EXPECT_EQ(out.last.finish_reason, "length");
    EXPECT_GT(out.last.timings.prompt_tokens, 0);
    EXPECT_EQ(out.last.timings.completion_tokens, 8);
    EXPECT_GT(out.last.timings.total_ns, 0);
  }

  {
    // A chat whose client goes away (at its first token here) ends quietly: no more tokens
    // arrive, no final event, and the engine is not blamed.
    Outcome out;
    GenerationRequest r = hello(100'000);
    r.sampling.temperature = 1.0f;  // with these, the tiny model runs until its context is full
    r.sampling.top_p = 1.0f;        // (4048 tokens) when nothing stops it
    r.model = route->model;
    r.cancelled = std::make_shared<std::atomic<bool>>(false);
    auto cancelled = r.cancelled;
    auto inner = out.sink();
    route->target->submit(std::move(r), [inner, cancelled](GenerationEvent&& e) {
      if (e.kind == GenerationEvent::Kind::token) cancelled->store(true);
      inner(std::move(e));
    });
    std::this_thread::sleep_for(3s);
    std::lock_guard lock(out.mutex);
    EXPECT_FALSE(out.ended) << out.last.finish_reason << out.last.error;
    EXPECT_GT(out.tokens, 0);
    EXPECT_LT(out.tokens, 200) << "tokens kept coming after the cancel";
    EXPECT_EQ(engines.models(bo_).size(), 1u);
  }
  EXPECT_TRUE(serves(engines.models(bo_), "r1", true));

  // The remote goes away in the middle of an answer: the stream ends with an error naming it.
  {
    Outcome out;
    GenerationRequest r = hello(100'000);
    r.sampling.temperature = 1.0f;
    r.sampling.top_p = 1.0f;
    r.model = route->model;
    std::promise<void> first_token;
    auto first = std::make_shared<std::once_flag>();
    auto inner = out.sink();
    route->target->submit(std::move(r), [&, inner, first](GenerationEvent&& e) {
      if (e.kind == GenerationEvent::Kind::token)
        std::call_once(*first, [&] { first_token.set_value(); });
      inner(std::move(e));
    });
    ASSERT_EQ(first_token.get_future().wait_for(30s), std::future_status::ready);
    remote_->stop(SIGKILL, 10s);
    ASSERT_TRUE(out.wait());
    EXPECT_GT(out.tokens, 0);
    ASSERT_EQ(out.last.kind, GenerationEvent::Kind::error) << out.last.finish_reason;
    EXPECT_EQ(out.last.error_kind, ErrorKind::unavailable);
    EXPECT_TRUE(test::contains(out.last.error, "remote 'r1' (" + base + ") failed: "))
        << out.last.error;
  }
  const int port = remote_->port();
  remote_.reset();
  // Each chat now fails with the remote named; with the one above, the second opens r1.
  for (int i = 0; i < 2; ++i) {
    route = engines.route(bo_, "tiny");
    ASSERT_TRUE(route) << "chat " << i;
    Outcome out;
    GenerationRequest r = hello();
    r.model = route->model;
    route->target->submit(std::move(r), out.sink());
    ASSERT_TRUE(out.wait());
    ASSERT_EQ(out.last.kind, GenerationEvent::Kind::error);
    EXPECT_EQ(out.last.error_kind, ErrorKind::unavailable);
    EXPECT_TRUE(test::contains(out.last.error, "remote 'r1' (" + base + ") failed: "))
        << out.last.error;
    EXPECT_FALSE(test::contains(out.last.error, key)) << out.last.error;
  }
  EXPECT_FALSE(engines.route(bo_, "tiny"));  // open
  EXPECT_TRUE(serves(engines.models(bo_), "r1", false)) << engines.models(bo_);

  // Back on the same port: once the cooldown is over, a health check closes the circuit.
  start_remote(port);
  engines.start();
  const auto until = std::chrono::steady_clock::now() + 20s;
  while (!serves(engines.models(bo_), "r1", true) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(serves(engines.models(bo_), "r1", true)) << engines.models(bo_);
  route = engines.route(bo_, "tiny");
  ASSERT_TRUE(route);
  Outcome out;
  GenerationRequest r = hello(4);
  r.model = route->model;
  route->target->submit(std::move(r), out.sink());
  ASSERT_TRUE(out.wait());
  EXPECT_EQ(out.last.kind, GenerationEvent::Kind::done) << out.last.error;
  EXPECT_EQ(out.last.timings.completion_tokens, 4);

  // Removing the engine takes it out of routing within seconds.
  ASSERT_TRUE(rows.remove("r1"));
  std::this_thread::sleep_for(2500ms);
  EXPECT_FALSE(engines.route(bo_, "tiny"));
  engines.stop();
  // Stopped: a submit is answered at once with an error event.
  route = engines.route(ada_, "tiny");
  ASSERT_TRUE(route);
  Outcome late;
  route->target->submit(hello(), late.sink());
  ASSERT_TRUE(late.wait(5s));
  EXPECT_EQ(late.last.kind, GenerationEvent::Kind::error);
  EXPECT_TRUE(test::contains(late.last.error, "shutting down")) << late.last.error;
}

}  // namespace
}  // namespace hearth::server
