// End to end: OpenAI as a remote trainer (loop/remote_job.h), with a second `hearth serve` on
// loopback as the remote (its /v1/files and /v1/fine_tuning/jobs, backed by its own trainer).
// Alice on server 1 has 120 corrected conversations; Bob on server 2 lends his token as her API
// key. A job with "trainer": "openai" is refused without settings; fails clearly with a key the
// remote refuses; trains on server 2, is followed into Alice's job, deploys as a remote version,
// and her chats (OpenAI and Ollama, whole and streamed) are answered by server 2's tuned model. A
// remote that goes away mid-job fails the job with a clear error and nothing is deployed. A cancel
// is sent on; a restart of server 1 resumes polling the remote job.
#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>

#include "db/db_test_support.h"
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
using test::HttpResult;
using test::json_from;

class RemoteTrainerEndToEnd : public db::test::BackendTest {};

// Polls the job until `done` says so (or 10 minutes pass); the last answer.
json::value wait_for(const ChatClient& c, std::int64_t id,
                     const std::function<bool(const json::value&)>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  json::value job;
  while (std::chrono::steady_clock::now() < until) {
    job = c.get("/api/training/jobs/" + std::to_string(id));
    if (job.is_object() && job.as_object().contains("status") && done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return job;
}

bool ended(const json::value& job) {
  const auto& s = job.at("status").as_string();
  return s == "completed" || s == "failed" || s == "cancelled";
}

std::string answer(const ChatClient& c, const std::string& model) {
  const json::value a =
      c.chat(json::array{json::object{{"role", "user"}, {"content", "what colour is thing 7?"}}},
             {}, {{"model", model}, {"max_tokens", 12}});
  if (!a.is_object() || !a.as_object().contains("choices")) return "<no answer>";
  return std::string(a.at_pointer("/choices/0/message/content").as_string());
}

TEST_P(RemoteTrainerEndToEnd, TrainsOnASecondServerAndServesItsModel) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::HttpFileServer files(dir / "models");
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  const json::value opt_in{{"training_opt_in", true}};
  const std::string model = "llama3-f16";

  // Server 2, the remote: Bob with the same base model.
  test::TempDir remote_home;
  const std::string bob_token =
      test::token_for({{"HEARTH_HOME", remote_home.path().string()}}, "bob");
  ASSERT_FALSE(bob_token.empty());
  auto remote = std::make_unique<test::ServerProcess>(
      remote_home.path(), std::vector<std::string>{}, Env{{"HEARTH_TRAIN_THREADS", "2"}});
  ASSERT_TRUE(remote->wait_listening(std::chrono::seconds(20))) << remote->output();
  const ChatClient bob(*remote, bob_token);
  ASSERT_EQ(bob.call("POST", "/api/pull", &pull).status, 200);
  ASSERT_EQ(bob.call("PUT", "/api/settings", &opt_in).status, 200);

  // Server 1: Alice and her data.
  test::TempDir home;
  const std::string alice_token =
      test::token_for({{"HEARTH_HOME", home.path().string()}, {"HEARTH_DB", url()}}, "alice");
  ASSERT_FALSE(alice_token.empty());
  auto server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{},
                                                      Env{{"HEARTH_DB", url()}});
  ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  auto alice_client = std::make_unique<ChatClient>(*server, alice_token);
  const ChatClient& alice = *alice_client;
  ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  const std::string base_answer = answer(alice, model);
  for (int i = 0; i < 120; ++i) {
    const json::value a = alice.chat(json::array{json::object{
        {"role", "user"}, {"content", "what colour is thing " + std::to_string(i) + "?"}}});
    ASSERT_TRUE(test::has_key(a, "hearth")) << a;
    const json::value fb{
        {"corrected_answer", "Thing " + std::to_string(i) + " is blue, as every thing is."}};
    ASSERT_EQ(
        alice
            .call("POST",
                  "/api/conversations/" +
                      std::to_string(a.at_pointer("/hearth/conversation_id").as_int64()) +
                      "/messages/" + std::to_string(a.at_pointer("/hearth/message_id").as_int64()) +
                      "/feedback",
                  &fb)
            .status,
        200);
  }

  // No remote settings: refused.
  const json::value start{
      {"model", model},
      {"trainer", "openai"},
      {"hyperparameters",
       {{"n_epochs", 2}, {"batch_size", 4}, {"learning_rate", 0.01}, {"rank", 8}}}};
  HttpResult r = alice.call("POST", "/api/training/start-job", &start);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("/api/training/remote"), std::string::npos) << r.body;
  const json::value bad_trainer{{"model", model}, {"trainer", "elsewhere"}};
  EXPECT_EQ(alice.call("POST", "/api/training/start-job", &bad_trainer).status, 400);

  // A key the remote refuses: the job fails with the remote's answer, nothing to deploy.
  const std::string base_url = remote->url("/v1");
  json::value settings{{"base_url", base_url}, {"api_key", "not-a-token-of-server-2"}};
  ASSERT_EQ(alice.call("PUT", "/api/training/remote", &settings).status, 200);
  r = alice.call("POST", "/api/training/start-job", &start);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_from(r.body).at("trainer").as_string(), "openai");
  std::int64_t id = json_from(r.body).at("id").as_int64();
  json::value job = wait_for(alice, id, ended);
  ASSERT_EQ(job.at("status").as_string(), "failed") << job;
  EXPECT_NE(job.at("error").as_string().find("401"), std::string::npos) << job;
  EXPECT_NE(job.at("error").as_string().find(base_url), std::string::npos) << job;
  json::value deploy{{"job_id", id}, {"force", true}};
  EXPECT_EQ(alice.call("POST", "/api/training/deploy", &deploy).status, 409);

  // Bob's token: trained on server 2, followed here.
  settings.as_object()["api_key"] = bob_token;
  ASSERT_EQ(alice.call("PUT", "/api/training/remote", &settings).status, 200);
  r = alice.call("POST", "/api/training/start-job", &start);
  ASSERT_EQ(r.status, 201) << r.body;
  id = json_from(r.body).at("id").as_int64();
  job = wait_for(alice, id, ended);
  ASSERT_EQ(job.at("status").as_string(), "completed") << job << "\n" << remote->output();
  const std::string remote_job = std::string(job.at("remote_job_id").as_string());
  EXPECT_EQ(remote_job.rfind("ftjob-", 0), 0u) << job;
  // The remote's own record of it (as Bob) agrees.
  const json::value there = bob.get("/v1/fine_tuning/jobs/" + remote_job);
  EXPECT_EQ(there.at("status").as_string(), "succeeded") << there;
  const std::string tuned_model = std::string(there.at("fine_tuned_model").as_string());
  EXPECT_EQ(job.at_pointer("/eval/remote/fine_tuned_model").as_string(), tuned_model) << job;
  EXPECT_FALSE(job.at_pointer("/metrics/loss_curve").as_array().empty()) << job;
  const std::string events =
      alice.call("GET", "/api/training/jobs/" + std::to_string(id) + "/events").body;
  for (const std::string& part : {"remote job " + remote_job + " created", std::string("remote: "),
                                  "completed at the remote as " + tuned_model})
    EXPECT_NE(events.find(part), std::string::npos) << part << " missing in\n" << events;

  // Deploy through the gate: without validation figures that say better, only when forced.
  deploy = json::object{{"job_id", id}};
  const bool better = job.at_pointer("/eval/better").as_bool();
  r = alice.call("POST", "/api/training/deploy", &deploy);
  if (!better) {
    EXPECT_EQ(r.status, 409) << r.body;
    deploy.as_object()["force"] = true;
    r = alice.call("POST", "/api/training/deploy", &deploy);
  }
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value version = json_from(r.body);
  EXPECT_EQ(version.at("version").as_int64(), 1);
  EXPECT_EQ(version.at("remote_model").as_string(), tuned_model);
  EXPECT_EQ(version.at("remote_base_url").as_string(), base_url);
  EXPECT_EQ(version.at("adapter_digest").as_string(), "");

  // Alice's chats are answered by server 2's tuned model (greedy: the same words), which learnt
  // her corrections.
  const std::string from_remote = answer(bob, tuned_model);
  EXPECT_NE(from_remote, base_answer);
  EXPECT_NE(from_remote.find("blue"), std::string::npos) << from_remote;
  EXPECT_EQ(answer(alice, model), from_remote);
  EXPECT_EQ(answer(alice, model + "@v1"), from_remote);
  EXPECT_EQ(answer(alice, model + "@v0"), base_answer);
  // Streamed: the remote's events pass through.
  const json::value streamed{
      {"model", model},
      {"stream", true},
      {"max_tokens", 4},
      {"temperature", 0},
      {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
  r = alice.call("POST", "/v1/chat/completions", &streamed);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type.rfind("text/event-stream", 0), 0u) << r.content_type;
  EXPECT_NE(r.body.find("data: [DONE]"), std::string::npos) << r.body;
  // Ollama's chat too, whole and streamed (NDJSON made from the remote's events).
  json::value ollama{{"model", model},
                     {"stream", false},
                     {"options", {{"temperature", 0}, {"num_predict", 12}}},
                     {"messages", json::array{json::object{
                                      {"role", "user"}, {"content", "what colour is thing 7?"}}}}};
  r = alice.call("POST", "/api/chat", &ollama);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body).at_pointer("/message/content").as_string(), from_remote) << r.body;
  EXPECT_TRUE(json_from(r.body).at("done").as_bool());
  ollama.as_object()["stream"] = true;
  r = alice.call("POST", "/api/chat", &ollama);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string streamed_text;
  bool finished = false;
  for (std::size_t at = 0, nl; (nl = r.body.find('\n', at)) != std::string::npos; at = nl + 1) {
    const json::value line = json_from(r.body.substr(at, nl - at));
    streamed_text += line.at_pointer("/message/content").as_string();
    finished = line.at("done").as_bool();
  }
  EXPECT_TRUE(finished) << r.body;
  EXPECT_EQ(streamed_text, from_remote) << r.body;
  // Generation without chat stays local, and says where remote versions are served.
  const json::value generate{{"model", model}, {"prompt", "hi"}, {"stream", false}};
  r = alice.call("POST", "/api/generate", &generate);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("/v1/chat/completions"), std::string::npos) << r.body;

  // A cancel here cancels the remote job (a longer one, so that it is still running).
  json::value slow = start;
  slow.as_object()["hyperparameters"].as_object()["n_epochs"] = 12;
  r = alice.call("POST", "/api/training/start-job", &slow);
  ASSERT_EQ(r.status, 201) << r.body;
  id = json_from(r.body).at("id").as_int64();
  job = wait_for(alice, id,
                 [](const json::value& j) { return !j.at("remote_job_id").is_null() || ended(j); });
  ASSERT_FALSE(job.at("remote_job_id").is_null()) << job;
  EXPECT_EQ(alice.call("POST", "/api/training/jobs/" + std::to_string(id) + "/cancel").status, 200);
  job = wait_for(alice, id, ended);
  if (job.at("status").as_string() != "completed") {  // a remote that finished first is no fault
    EXPECT_EQ(job.at("status").as_string(), "cancelled") << job;
    EXPECT_EQ(bob.get("/v1/fine_tuning/jobs/" + std::string(job.at("remote_job_id").as_string()))
                  .at("status")
                  .as_string(),
              "cancelled");
  }

  // Server 1 restarts while the remote trains: the job is polled again and completes.
  r = alice.call("POST", "/api/training/start-job", &slow);
  ASSERT_EQ(r.status, 201) << r.body;
  id = json_from(r.body).at("id").as_int64();
  job = wait_for(alice, id,
                 [](const json::value& j) { return !j.at("remote_job_id").is_null() || ended(j); });
  ASSERT_FALSE(job.at("remote_job_id").is_null()) << job;
  alice_client.reset();
  EXPECT_EQ(server->stop(SIGTERM, std::chrono::seconds(30)), 0);
  server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{},
                                                 Env{{"HEARTH_DB", url()}});
  ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  const ChatClient again(*server, alice_token);
  job = wait_for(again, id, ended);
  EXPECT_EQ(job.at("status").as_string(), "completed") << job;
  const std::string restarted_events =
      again.call("GET", "/api/training/jobs/" + std::to_string(id) + "/events").body;
  EXPECT_NE(restarted_events.find("polling remote job"), std::string::npos) << restarted_events;
  // Each remote event was copied once, across the restart.
  EXPECT_EQ(restarted_events.find("completed at the remote"),
            restarted_events.rfind("completed at the remote"));

  // The remote goes away while a job runs there: failed, with why; nothing new deployed.
  r = again.call("POST", "/api/training/start-job", &slow);
  ASSERT_EQ(r.status, 201) << r.body;
  id = json_from(r.body).at("id").as_int64();
  job = wait_for(again, id,
                 [](const json::value& j) { return !j.at("remote_job_id").is_null() || ended(j); });
  ASSERT_FALSE(job.at("remote_job_id").is_null()) << job;
  remote->stop(SIGKILL, std::chrono::seconds(10));
  job = wait_for(again, id, ended);
  ASSERT_EQ(job.at("status").as_string(), "failed") << job;
  EXPECT_NE(job.at("error").as_string().find("cannot be reached"), std::string::npos) << job;
  deploy = json::object{{"job_id", id}, {"force", true}};
  EXPECT_EQ(again.call("POST", "/api/training/deploy", &deploy).status, 409);
  const json::value versions =
      again.get("/api/personal-models/" + std::to_string(job.at("personal_model_id").as_int64()) +
                "/versions");
  EXPECT_EQ(versions.at("served_version").as_int64(), 1) << versions;
  EXPECT_EQ(versions.at("versions").as_array().size(), 1u) << versions;
  // With the remote gone, the remote version answers 503 with why; the base still answers.
  const json::value chat{
      {"model", model},
      {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
  r = again.call("POST", "/v1/chat/completions", &chat);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(answer(again, model + "@v0"), base_answer);
}

INSTANTIATE_TEST_SUITE_P(Backends, RemoteTrainerEndToEnd,
                         ::testing::Values(db::Backend::sqlite, db::Backend::postgresql),
                         db::test::backend_test_name);

}  // namespace
}  // namespace hearth
