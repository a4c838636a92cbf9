// A running training job survives its server: kill -9 loses at most the steps since the last
// checkpoint (the next server resumes from it), a graceful stop checkpoints and resumes exactly
// where it stopped, and a cancel ends it.
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <regex>
#include <string>
#include <thread>

#include "server/rated_conversations.h"
#include "db/conversations.h"
#include "db/db.h"
#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace json = boost::json;
using test::ChatClient;
using test::Env;
using test::json_from;

// Polls `get` until `done` holds for its answer (or the time is up); the last answer.
json::value wait_for(const std::function<json::value()>& get,
                     const std::function<bool(const json::value&)>& done,
                     std::chrono::seconds limit = std::chrono::seconds(180)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  json::value v;
  do {
    v = get();
    if (done(v)) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < until);
  return v;
}

std::int64_t step_of(const json::value& job) {
  const auto* m = job.as_object().if_contains("metrics");
  if (!m || !m->as_object().contains("step")) return 0;
  return m->at("step").to_number<std::int64_t>();
}

// The step of the last "resumed after step N" event; -1 when there is none.
std::int64_t resumed_step(const std::string& events) {
  static const std::regex re("resumed after step ([0-9]+)");
  std::int64_t last = -1;
  for (auto it = std::sregex_iterator(events.begin(), events.end(), re); it != std::sregex_iterator(); ++it)
    last = std::stoll((*it)[1]);
  return last;
}

TEST(TrainingRestart, KillNineLosesOnlyTheStepsSinceTheLastCheckpointAndStopsResumeExactly) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_LOG", "warn"}};
  const std::string token = test::token_for(env, "alice");
  ASSERT_FALSE(token.empty());
  const std::vector<std::pair<std::string, std::string>> server_env{
      {"HEARTH_TRAIN_CHECKPOINT_EVERY", "5"}, {"HEARTH_TRAIN_THREADS", "1"}, {"HEARTH_LOG", "warn"}};
  auto server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, server_env);
  ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  test::HttpFileServer files(dir / "models");
  {
    const ChatClient alice(*server, token);
    const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
    ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
    const json::value opt_in{{"training_opt_in", true}};
    ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  }
  // 110 rated conversations, written straight into the database.
  test::add_rated_conversations(home.path(), "alice", 110);
  // A long job: many small steps.
  const json::value start{{"model", "llama3-f16"},
                          {"hyperparameters", {{"n_epochs", 50}, {"batch_size", 1}, {"rank", 4}}}};
  std::int64_t id = 0;
  {
    const ChatClient alice(*server, token);
    const auto r = alice.call("POST", "/api/training/start-job", &start);
    ASSERT_EQ(r.status, 201) << r.body;
    id = json_from(r.body).at("id").as_int64();
  }
  const std::string job_path = "/api/training/jobs/" + std::to_string(id);
  auto job = [&] { return ChatClient(*server, token).get(job_path); };
  auto events = [&] {
    test::HttpOptions o;
    o.headers = {"Authorization: Bearer " + token};
    o.timeout_ms = 2000;  // the stream stays open while the job runs: read what came so far
    return test::http("GET", server->url(job_path + "/events"), nullptr, o).body;
  };

  // kill -9 once it is past a few checkpoints.
  json::value seen = wait_for(job, [](const json::value& j) { return step_of(j) >= 12; });
  const std::int64_t observed = step_of(seen);
  ASSERT_GE(observed, 12) << seen;
  server->stop(SIGKILL, std::chrono::seconds(10));
  server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, server_env);
  ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  // The row still shows the killed server's last step until the new one has resumed: wait for
  // the resume itself.
  wait_for(job, [&](const json::value&) { return resumed_step(events()) >= 0; });
  std::string log = events();
  std::int64_t from = resumed_step(log);
  ASSERT_GE(from, 0) << log;
  EXPECT_EQ(from % 5, 0) << "a checkpoint every 5 steps";
  // The row shows a step as soon as it is taken, its checkpoint (every 5th) is written just
  // after: the one of the step before the observed one was complete.
  EXPECT_GE(from, (observed - 1) / 5 * 5) << "at most the steps since the last checkpoint are lost";

  // A graceful stop checkpoints the step it ends on and the next server resumes exactly there.
  // Then past the killed server's last step (the stale figure the row may still show).
  const std::int64_t stale = std::max(from, step_of(job()));
  wait_for(job, [&](const json::value& j) { return step_of(j) >= stale + 2; });
  EXPECT_EQ(server->stop(SIGTERM, std::chrono::seconds(60)), 0) << server->output();
  {
    db::Database database = db::Database::open("sqlite://" + (home.path() / "hearth.db").string());
    EXPECT_EQ(db::TrainingJobs(database).find(id)->status, db::JobStatus::running);
  }
  server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, server_env);
  ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  wait_for(job, [&](const json::value&) { return resumed_step(events()) > from; });
  log = events();
  static const std::regex paused("paused after step ([0-9]+)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, paused)) << log;
  EXPECT_EQ(resumed_step(log), std::stoll(m[1])) << log;

  // The loss curve has every step once, in order, across the three servers.
  seen = job();
  std::int64_t previous = 0;
  for (const auto& p : seen.at_pointer("/metrics/loss_curve").as_array()) {
    const std::int64_t s = p.at("step").to_number<std::int64_t>();
    EXPECT_EQ(s, previous + 1);
    previous = s;
  }

  // Cancel: it ends after the step in flight.
  ASSERT_EQ(ChatClient(*server, token).call("POST", job_path + "/cancel").status, 200);
  seen = wait_for(job, [](const json::value& j) { return j.at("status") == "cancelled"; },
                  std::chrono::seconds(60));
  EXPECT_EQ(seen.at("status"), "cancelled");
}

}  // namespace
}  // namespace hearth
