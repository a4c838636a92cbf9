// End to end, on SQLite and PostgreSQL: the personal loop through the real `hearth serve`.
// 120 conversations with corrected answers → too little data refused first with the counts →
// start-job → progress events (SSE) → evaluation → deploy through the gate → chat answers come
// from the tuned version (and name@vN picks a version) → compare (API and `hearth jobs compare`)
// → rollback → the base's answers again; a second user sees none of it; the audit log has it all.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

class PersonalLoopEndToEnd : public db::test::BackendTest {};

// The greedy answer of `model` to `question`.
std::string answer(const ChatClient& c, const std::string& model, const std::string& question) {
  const json::value a = c.chat(json::array{json::object{{"role", "user"}, {"content", question}}}, {},
                               {{"model", model}, {"max_tokens", 12}});
  if (!a.is_object() || !a.as_object().contains("choices")) return "<no answer>";
  return std::string(a.at_pointer("/choices/0/message/content").as_string());
}

TEST_P(PersonalLoopEndToEnd, ConversationsBecomeADeployedVersionThatRollsBack) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_DB", url()}, {"HEARTH_LOG", "warn"}};
  const std::string alice_token = test::token_for(env, "alice");
  const std::string bob_token = test::token_for(env, "bob");
  ASSERT_FALSE(alice_token.empty());
  ASSERT_FALSE(bob_token.empty());
  test::ServerProcess server(home.path(), {}, {{"HEARTH_DB", url()}, {"HEARTH_TRAIN_THREADS", "2"}});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const ChatClient alice(server, alice_token), bob(server, bob_token);
  test::HttpFileServer files(dir / "models");
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
  const std::string model = "llama3-f16";

  // Not opted in, then too few examples: refused, with the counts.
  const json::value start{{"model", model},
                          {"hyperparameters",
                           {{"n_epochs", 2}, {"batch_size", 4}, {"learning_rate", 0.01}, {"rank", 8}}}};
  HttpResult r = alice.call("POST", "/api/training/start-job", &start);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("opted in"), std::string::npos) << r.body;
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  r = alice.call("POST", "/api/training/start-job", &start);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json_from(r.body).at("qualifying").as_int64(), 0);
  EXPECT_EQ(json_from(r.body).at("needed").as_int64(), 100);
  // The plan refuses the same way, before anything starts.
  r = alice.call("POST", "/api/training/plan", &start);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json_from(r.body).at("qualifying").as_int64(), 0);

  const std::string before = answer(alice, model, "what colour is thing 7?");
  // 120 chats; each answer corrected to what the user wanted (one consistent style).
  for (int i = 0; i < 120; ++i) {
    const json::value a = alice.chat(json::array{json::object{
        {"role", "user"}, {"content", "what colour is thing " + std::to_string(i) + "?"}}});
    ASSERT_TRUE(test::has_key(a, "hearth")) << a;
    const json::value fb{{"corrected_answer", "Thing " + std::to_string(i) + " is blue, as every thing is."}};
    r = alice.call("POST",
                   "/api/conversations/" + std::to_string(a.at_pointer("/hearth/conversation_id").as_int64()) +
                       "/messages/" + std::to_string(a.at_pointer("/hearth/message_id").as_int64()) +
                       "/feedback",
                   &fb);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // What the dashboards show of the data: counts, the score histogram, search.
  const json::value ready = alice.get("/api/training/readiness");
  EXPECT_EQ(ready.at("conversations").as_int64(), 121) << ready;  // the first question's too
  EXPECT_EQ(ready.at("rated").as_int64(), 120) << ready;
  ASSERT_EQ(ready.at("models").as_array().size(), 1u) << ready;
  const json::value& entry = ready.at("models").as_array().at(0);
  EXPECT_EQ(entry.at("qualifying_examples").as_int64(), 120) << entry;
  std::int64_t in_histogram = 0, above = 0;
  const json::array& histogram = entry.at("histogram").as_array();
  ASSERT_EQ(histogram.size(), 10u);
  for (std::size_t k = 0; k < histogram.size(); ++k) {
    in_histogram += histogram[k].as_int64();
    if (k >= 7) above += histogram[k].as_int64();
  }
  EXPECT_EQ(in_histogram, entry.at("scored").as_int64()) << entry;
  EXPECT_GE(above, 120) << entry;  // corrected answers all qualify (score above 0.7)
  EXPECT_EQ(bob.get("/api/training/readiness").at("conversations").as_int64(), 0);
  const json::value found = alice.get("/api/conversations?q=THING+7%3F");
  ASSERT_EQ(found.at("conversations").as_array().size(), 2u) << found;  // asked twice
  for (const auto& c : found.at("conversations").as_array())
    EXPECT_EQ(c.at("title").as_string(), "what colour is thing 7?");
  EXPECT_EQ(alice.get("/api/conversations?q=thing&limit=1000").at("conversations").as_array().size(), 121u);
  EXPECT_TRUE(bob.get("/api/conversations?q=thing").at("conversations").as_array().empty());
  EXPECT_EQ(alice.call("GET", "/api/conversations?q=%ZZ").status, 400);
  EXPECT_EQ(alice.call("GET", "/api/conversations?q=%FF").status, 400);

  // The plan before the first job: the data and memory, no time yet (nothing measured).
  r = alice.call("POST", "/api/training/plan", &start);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value plan = json_from(r.body);
  EXPECT_EQ(plan.at("examples").as_int64(), 108) << plan;  // a tenth is held out
  EXPECT_GT(plan.at("tokens").as_int64(), 108 * 5) << plan;
  EXPECT_EQ(plan.at("epochs").as_int64(), 2) << plan;
  EXPECT_EQ(plan.at("steps").as_int64(), 2 * 27) << plan;  // 108 examples in batches of 4
  EXPECT_GT(plan.at_pointer("/memory/peak").to_number<double>(),
            plan.at_pointer("/memory/adapter").to_number<double>());
  EXPECT_TRUE(plan.at("fits").as_bool()) << plan;
  EXPECT_TRUE(plan.at("estimated_seconds").is_null()) << plan;
  EXPECT_NE(plan.at("basis").as_string().find("unknown"), std::string::npos) << plan;
  EXPECT_EQ(bob.call("POST", "/api/training/plan", &start).status, 404);

  // Bob has no such model; Alice's job starts.
  EXPECT_EQ(bob.call("POST", "/api/training/start-job", &start).status, 404);
  r = alice.call("POST", "/api/training/start-job", &start);
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value job = json_from(r.body);
  const std::int64_t id = job.at("id").as_int64();
  EXPECT_EQ(job.at("status").as_string(), "queued");
  const std::string job_path = "/api/training/jobs/" + std::to_string(id);
  // A second job of the same model waits for none: refused while this one runs.
  EXPECT_EQ(alice.call("POST", "/api/training/start-job", &start).status, 409);

  // The events stream until the job ends.
  test::HttpOptions follow;
  follow.headers = {"Authorization: Bearer " + alice_token};
  follow.timeout_ms = 15 * 60 * 1000;
  const HttpResult events = test::http("GET", server.url(job_path + "/events"), nullptr, follow);
  ASSERT_EQ(events.status, 200) << events.body;
  EXPECT_EQ(events.content_type.rfind("text/event-stream", 0), 0u) << events.content_type;
  for (const char* part : {"queued:", "started:", "\"step\"", "evaluating on", "evaluated:",
                           "completed", "event: end", "\"status\":\"completed\""})
    EXPECT_NE(events.body.find(part), std::string::npos) << part << " missing in\n" << events.body;
  // Bob sees none of it.
  EXPECT_EQ(bob.call("GET", job_path).status, 404);
  EXPECT_EQ(bob.call("GET", job_path + "/events").status, 404);
  EXPECT_EQ(bob.call("POST", job_path + "/cancel").status, 404);
  const json::value deploy{{"job_id", id}};
  EXPECT_EQ(bob.call("POST", "/api/training/deploy", &deploy).status, 404);
  EXPECT_TRUE(bob.get("/api/training/jobs").at("jobs").as_array().empty());

  // The job's figures: a loss curve, and a tuned version better than the base on held-out data.
  const json::value done = alice.get(job_path);
  ASSERT_EQ(done.at("status").as_string(), "completed") << done;
  EXPECT_EQ(done.at("progress").to_number<double>(), 100);
  EXPECT_GE(done.at_pointer("/metrics/loss_curve").as_array().size(), 10u);
  EXPECT_GT(done.at_pointer("/metrics/tokens_per_second").to_number<double>(), 0);
  const json::value& eval = done.at("eval");
  const double base_loss = eval.at_pointer("/base/loss").to_number<double>();
  const double tuned_loss = eval.at_pointer("/tuned/loss").to_number<double>();
  EXPECT_LT(tuned_loss, 0.7 * base_loss) << eval;
  EXPECT_TRUE(eval.at("better").as_bool());
  ASSERT_FALSE(eval.at("samples").as_array().empty());
  EXPECT_EQ(done.at_pointer("/hyperparameters/used/batch_size").as_int64(), 4);

  // Now the plan has a measured speed to go by.
  r = alice.call("POST", "/api/training/plan", &start);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value measured = json_from(r.body);
  EXPECT_GT(measured.at("estimated_seconds").to_number<double>(), 0) << measured;
  EXPECT_NE(measured.at("basis").as_string().find("job " + std::to_string(id)), std::string::npos)
      << measured;

  // Deploy: version 1 serves Alice's name; the base is still one loaded model.
  r = alice.call("POST", "/api/training/deploy", &deploy);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_from(r.body).at("version").as_int64(), 1);
  EXPECT_EQ(alice.call("POST", "/api/training/deploy", &deploy).status, 409);  // once
  const std::string tuned = answer(alice, model, "what colour is thing 7?");
  EXPECT_NE(tuned, before);
  EXPECT_NE(tuned.find("blue"), std::string::npos) << tuned;
  EXPECT_EQ(answer(alice, model + "@v0", "what colour is thing 7?"), before);
  EXPECT_EQ(answer(alice, model + "@v1", "what colour is thing 7?"), tuned);
  EXPECT_EQ(alice.get("/api/ps").at("models").as_array().size(), 1u);

  // Versions and their lineage.
  const std::int64_t row = done.at("personal_model_id").as_int64();
  const std::string row_path = "/api/personal-models/" + std::to_string(row);
  const json::value versions = alice.get(row_path + "/versions");
  EXPECT_EQ(versions.at("served_version").as_int64(), 1);
  ASSERT_EQ(versions.at("versions").as_array().size(), 1u);
  const json::value& v1 = versions.at("versions").as_array()[0];
  EXPECT_EQ(v1.at("job_id").as_int64(), id);
  EXPECT_EQ(v1.at("base_digest").as_string().subview().substr(0, 7), "sha256:");
  EXPECT_EQ(v1.at("dataset_hash").as_string().size(), 64u);
  EXPECT_TRUE(v1.at_pointer("/eval/better").as_bool());
  EXPECT_EQ(bob.call("GET", row_path + "/versions").status, 404);

  // Compare, through the API and the CLI.
  const json::value compare = alice.get(row_path + "/compare");
  EXPECT_EQ(compare.at("job_id").as_int64(), id);
  EXPECT_FALSE(compare.at_pointer("/eval/samples/0/tuned").as_string().empty());
  Env cli = env;
  cli.emplace_back("HEARTH_HOST", server.url(""));
  cli.emplace_back("HEARTH_API_KEY", alice_token);
  const auto printed = test::run_hearth({"jobs", "compare", model}, cli);
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("tuned"), std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find("better than what is served"), std::string::npos) << printed.out;
  const auto listed = test::run_hearth({"jobs", "list"}, cli);
  EXPECT_NE(listed.out.find("completed"), std::string::npos) << listed.out << listed.err;

  // Rollback: the base answers again; a second rollback has nothing to undo.
  r = alice.call("POST", row_path + "/rollback");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body).at("served_version").as_int64(), 0);
  EXPECT_EQ(answer(alice, model, "what colour is thing 7?"), before);
  EXPECT_EQ(alice.call("POST", row_path + "/rollback").status, 409);
  EXPECT_EQ(bob.call("POST", row_path + "/rollback").status, 404);

  // The audit log names each step and who took it.
  db::Database database = open();
  std::vector<std::string> actions;
  for (const auto& e : db::AuditLog(database).list())
    if (e.action.rfind("training.", 0) == 0 || e.action == "model.use")
      actions.push_back(e.action + " " + e.username);
  for (const char* a : {"training.start alice", "training.run alice", "training.finish alice",
                        "training.deploy alice", "training.rollback alice", "model.use alice"})
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
}

INSTANTIATE_TEST_SUITE_P(Backends, PersonalLoopEndToEnd,
                         ::testing::Values(db::Backend::sqlite, db::Backend::postgresql),
                         db::test::backend_test_name);

}  // namespace
}  // namespace hearth
