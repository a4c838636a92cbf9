// The training API's checks, without training: schedules (their window and IANA zone checked,
// scoped to the caller, also through `hearth jobs schedule`), refusals of start-job, unknown and
// malformed job ids.
#include <gtest/gtest.h>

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

TEST(TrainingApi, SchedulesAreCheckedAndScopedAndStartJobRefusesBadRequests) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_LOG", "warn"}};
  const std::string alice_token = test::token_for(env, "alice");
  const std::string bob_token = test::token_for(env, "bob");
  test::ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const ChatClient alice(server, alice_token), bob(server, bob_token);
  test::HttpFileServer files(dir / "models");
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
  const json::value rows = alice.get("/api/personal-models");
  const std::int64_t id = rows.at("models").as_array().at(0).at("id").as_int64();
  const std::string schedule = "/api/personal-models/" + std::to_string(id) + "/schedule";

  EXPECT_FALSE(alice.get(schedule).at("enabled").as_bool());
  json::value put{{"window", "sunday 02:00-06:00"}, {"time_zone", "Mars/Olympus_Mons"}};
  auto r = alice.call("PUT", schedule, &put);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("Mars/Olympus_Mons"), std::string::npos) << r.body;
  put = {{"window", "someday 02:00-06:00"}, {"time_zone", "Europe/Berlin"}};
  EXPECT_EQ(alice.call("PUT", schedule, &put).status, 400);
  put = {{"time_zone", "../../etc/passwd"}};
  EXPECT_EQ(alice.call("PUT", schedule, &put).status, 400);
  put = {{"window", "Sunday 02:00-06:00"}, {"time_zone", "Europe/Berlin"}};
  r = alice.call("PUT", schedule, &put);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value s = json_from(r.body);
  EXPECT_TRUE(s.at("enabled").as_bool());
  EXPECT_EQ(s.at("window").as_string(), "sun 02:00-06:00");
  EXPECT_TRUE(s.at("next_window").is_object()) << s;
  EXPECT_EQ(alice.get(schedule).at("time_zone").as_string(), "Europe/Berlin");
  EXPECT_EQ(bob.call("GET", schedule).status, 404);
  EXPECT_EQ(bob.call("PUT", schedule, &put).status, 404);
  EXPECT_EQ(bob.call("DELETE", schedule).status, 404);

  // The CLI is a client of the same routes.
  Env cli = env;
  cli.emplace_back("HEARTH_HOST", server.url(""));
  cli.emplace_back("HEARTH_API_KEY", alice_token);
  auto printed = test::run_hearth({"jobs", "schedule", "llama3-f16", "--window", "daily 01:00-02:00",
                                   "--time-zone", "Asia/Kolkata"}, cli);
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("daily 01:00-02:00 (Asia/Kolkata)"), std::string::npos) << printed.out;
  printed = test::run_hearth({"jobs", "schedule", "no-such-model"}, cli);
  EXPECT_NE(printed.exit_code, 0);
  EXPECT_NE(printed.err.find("no personal model named 'no-such-model'"), std::string::npos) << printed.err;
  printed = test::run_hearth({"jobs", "list"}, cli);
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("no training jobs yet"), std::string::npos) << printed.out;
  r = alice.call("DELETE", schedule);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(json_from(r.body).at("deleted").as_bool());

  // start-job: what is wrong is named.
  json::value start{{"hyperparameters", {{"n_epochs", 2}}}};
  r = alice.call("POST", "/api/training/start-job", &start);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("'model'"), std::string::npos) << r.body;
  start = {{"model", "llama3-f16"}, {"hyperparameters", {{"n_epochs", "many"}}}};
  r = alice.call("POST", "/api/training/start-job", &start);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("n_epochs"), std::string::npos) << r.body;
  start = {{"model", "llama3-f16"}, {"dataset_version", 12345}};
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  r = alice.call("POST", "/api/training/start-job", &start);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("dataset version 12345 not found"), std::string::npos) << r.body;

  EXPECT_EQ(alice.call("GET", "/api/training/jobs/abc").status, 400);
  EXPECT_EQ(alice.call("GET", "/api/training/jobs/999").status, 404);
  EXPECT_EQ(alice.call("POST", "/api/training/jobs/999/cancel").status, 404);
  const json::value deploy{{"job_id", 999}};
  EXPECT_EQ(alice.call("POST", "/api/training/deploy", &deploy).status, 404);
  EXPECT_EQ(alice.call("GET", "/api/personal-models/" + std::to_string(id) + "/compare").status, 404);
  EXPECT_EQ(alice.call("POST", "/api/personal-models/" + std::to_string(id) + "/rollback").status, 409);
  EXPECT_EQ(alice.call("GET", "/v1/fine_tuning/jobs/ftjob-999").status, 404);
  EXPECT_EQ(alice.call("GET", "/v1/fine_tuning/jobs/999").status, 404);
  // A version the model does not have is not found; @v0 is the base itself.
  const json::value chat{{"model", "llama3-f16@v3"}, {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}}};
  EXPECT_EQ(alice.call("POST", "/v1/chat/completions", &chat).status, 404);
  const json::value del{{"model", "llama3-f16@v0"}};
  EXPECT_NE(alice.call("DELETE", "/api/delete", &del).status, 200);  // a version is no name to delete
  EXPECT_EQ(alice.get("/api/tags").at("models").as_array().size(), 1u);

  // A web page of another origin reaches none of it, even with the user's token in hand.
  const std::vector<std::string> foreign{"Origin: http://evil.example"};
  const json::value any_start{{"model", "llama3-f16"}};
  EXPECT_EQ(alice.call("POST", "/api/training/start-job", &any_start, foreign).status, 403);
  EXPECT_EQ(alice.call("PUT", schedule, &put, foreign).status, 403);
  EXPECT_EQ(alice.call("POST", "/api/personal-models/" + std::to_string(id) + "/rollback", nullptr,
                       foreign).status, 403);
  EXPECT_EQ(alice.call("GET", "/api/training/jobs", nullptr, foreign).status, 403);
  EXPECT_EQ(alice.call("GET", "/v1/fine_tuning/jobs", nullptr, foreign).status, 403);
  EXPECT_EQ(alice.call("POST", "/api/training/plan", &any_start, foreign).status, 403);
  EXPECT_EQ(alice.call("GET", "/api/training/readiness", nullptr, foreign).status, 403);
  EXPECT_EQ(alice.call("GET", "/api/conversations?q=secret", nullptr, foreign).status, 403);
  EXPECT_EQ(alice.call("GET", "/api/me", nullptr, foreign).status, 403);
}

}  // namespace
}  // namespace hearth
