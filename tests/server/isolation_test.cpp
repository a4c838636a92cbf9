// Isolation between users, through the whole API router (make_api_router) with real tokens on
// SQLite and PostgreSQL: for every route that names something by id or name (a path parameter,
// or an id or model name in the body or a header), bob naming alice's thing is answered 404,
// exactly as a thing that does not exist (403 would tell him it exists), and alice's things read
// back the same afterwards. The cases are checked against the router's registered patterns, so
// a new id route without a case here fails the test.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "core/sha256.h"
#include "db/conversations.h"
#include "db/db_test_support.h"
#include "db/training.h"
#include "library/library_test_util.h"
#include "server/api.h"
#include "server/desktop_hub.h"
#include "server/response_stream.h"
#include "store/blob_upload.h"
#include "support/json_test_util.h"

namespace hearth {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Patterns with a path parameter that name no user's data: public files of the web pages.
// POST /api/blobs/{digest} keeps a body only when it hashes to the digest: sending it proves
// having those bytes already, so it tells nothing of anyone's blob.
const std::set<std::string> kNotUserData = {"GET /assets/{file}", "POST /api/blobs/{digest}"};

class Isolation : public test::LibraryFixture,
                  public ::testing::WithParamInterface<db::Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == db::Backend::postgresql && !db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (scripts/postgres.sh start prints one)";
    scratch = std::make_unique<db::test::ScratchDatabase>(GetParam());
    LibraryFixture::SetUp();
    server::Scheduler::Options options;
    options.num_parallel = 1;
    options.threads = 1;
    options.default_num_ctx = 128;
    scheduler = std::make_unique<server::Scheduler>(options);
    auth = std::make_unique<server::Authenticator>(*database, server::AuthMode::required, false);
    hub = std::make_unique<server::DesktopHub>(*database);
    // Built in place: ApiContext holds atomics and cannot move.
    api.reset(new server::ApiContext{*store, *database, *library, *scheduler, *auth, {}, {}});
    api->desktops = hub.get();
    router = server::make_api_router(*api);
    alice_token = db::ApiTokens(*database).create(alice, "t").plaintext;
    bob_token = db::ApiTokens(*database).create(bob, "t").plaintext;
  }
  void TearDown() override {
    if (library) library->shutdown();  // pull threads use the context: stop them before it goes
    api.reset();
    hub.reset();
    scheduler.reset();
    LibraryFixture::TearDown();
    scratch.reset();
  }
  std::string database_url() const override { return scratch->url(); }

  struct Answer {
    int status = 0;
    std::string body;
  };
  // The whole answer, a streamed one waited for.
  Answer call(const std::string& token, const std::string& method, const std::string& target,
              const std::string& body = "",
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    server::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = "application/json";
    r.headers = std::move(headers);
    r.headers.emplace_back("authorization", "Bearer " + token);
    const server::Response response = router.handle(r);
    if (!response.stream) return {response.status, response.body};
    Answer out;
    for (int i = 0; i < 2000; ++i) {
      auto t = response.stream->take();
      if (t.has_head) out.status = t.status;
      out.body += t.data;
      if (t.finished) return out;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << method << " " << target << ": the stream did not finish";
    return out;
  }

  // What alice can read of her things: compared before and after each of bob's requests.
  std::string alice_state() {
    const std::string c = std::to_string(conversation), m = std::to_string(model_row);
    std::string out;
    for (const std::string& target : std::vector<std::string>{
             "/api/conversations/" + c, "/api/conversations", "/api/tags",
          "/api/personal-models", "/api/training/jobs", "/api/training/jobs/" + std::to_string(job),
          "/api/personal-models/" + m + "/versions", "/api/personal-models/" + m + "/schedule",
          "/v1/files", "/api/training/datasets", "/api/desktop/agents",
          "/api/training/datasets/" + std::to_string(dataset) + "/train.jsonl"}) {
      const Answer a = call(alice_token, "GET", target);
      EXPECT_EQ(a.status, 200) << target << ": " << a.body;
      out += target + " -> " + a.body + "\n";
    }
    return out;
  }

  // Alice's things, made through the repositories (the routes that make them are not under test).
  void make_alices_things() {
    model_name = pull_served(alice, "alice.gguf");
    // Bob's own model (the same weights under his own name): his requests that name it get past
    // "no such model" and reach the id they also carry.
    bob_model = pull_served(bob, "bobs.gguf");
    ASSERT_FALSE(model_name.empty());
    const auto rows = db::PersonalModels(*database).list_for_user(alice);
    ASSERT_FALSE(rows.empty());
    model_row = rows.front().id;

    db::Conversations conversations(*database);
    conversation = conversations.create({alice, model_name, "api", "alice's secret plans", "{}"}).id;
    conversations.add_message(alice, conversation, {{}, false, "user", "the plan", "", 0, 0, 0});
    message = conversations
                  .add_message(alice, conversation,
                               {{}, false, "assistant", "keep it quiet", model_name, 3, 3, 1})
                  .id;
    db::NewFeedback feedback;
    feedback.thumbs = 1;
    feedback.comment = "alice's comment";
    db::FeedbackStore(*database).upsert(alice, message, feedback);
    db::UserSettings settings = db::UserSettingsStore(*database).get(bob);
    settings.user_id = bob;
    settings.training_opt_in = true;  // bob's requests get past the opt-in check
    db::UserSettingsStore(*database).set(settings);

    const auto data = temp.path() / "alice-train.jsonl";
    std::ofstream(data) << R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})"
                        << "\n";
    db::DatasetVersion v;
    v.user_id = alice;
    v.content_hash = "abc";
    v.train_examples = 1;
    v.filter = "{}";
    v.train_path = data.string();
    dataset = db::DatasetVersions(*database).create(v).id;

    db::UploadedFile f;
    f.user_id = alice;
    f.filename = "alice.jsonl";
    f.purpose = "fine-tune";
    f.bytes = static_cast<std::int64_t>(std::filesystem::file_size(data));
    f.path = data.string();
    f.sha256 = "abc";
    file = db::UploadedFiles(*database).add(f).id;

    db::NewTrainingJob j;
    j.user_id = alice;
    j.model_id = model_row;
    j.training_data_size = 1;
    j.dataset_version_id = dataset;
    j.started_by = alice;
    j.base_model = model_name;
    job = db::TrainingJobs(*database).create(j).id;
    db::JobEvents(*database).add(job, "info", "queued");

    db::ModelVersion mv;
    mv.personal_model_id = model_row;
    mv.user_id = alice;
    mv.base_model = model_name;
    db::ModelVersions(*database).deploy(mv);
    db::TrainingSchedules(*database).put(alice, model_row, true, "sunday 02:00-06:00", "UTC");

    agent = json::value_to<std::string>(hub->register_agent(alice, "alice's laptop").at("agent_id"));

    // A blob only alice sent (POST /api/blobs/{digest}).
    const std::string bytes = "alice's adapter";
    blob = "sha256:" + sha256_hex(bytes);
    store::BlobUpload upload(api->store, blob);
    upload.write(bytes);
    upload.finish(alice);
  }

  std::unique_ptr<db::test::ScratchDatabase> scratch;
  std::unique_ptr<server::Scheduler> scheduler;
  std::unique_ptr<server::Authenticator> auth;
  std::unique_ptr<server::DesktopHub> hub;
  std::unique_ptr<server::ApiContext> api;
  server::Router router;
  std::string alice_token, bob_token, model_name, bob_model, agent, blob;
  std::int64_t model_row = 0, conversation = 0, message = 0, dataset = 0, file = 0, job = 0;
};

// One of bob's requests that names one of alice's things.
struct Case {
  std::string pattern;  // "METHOD /path/{param}" as registered, or "" for a body/header case
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers{};
};

TEST_P(Isolation, AnotherUsersIdsAnswer404AndChangeNothing) {
  make_alices_things();
  const std::string c = std::to_string(conversation), msg = std::to_string(message),
                    m = std::to_string(model_row), j = std::to_string(job),
                    d = std::to_string(dataset), f = "file-" + std::to_string(file);
  const std::string chat = R"({"model":")" + model_name +
                           R"(","messages":[{"role":"user","content":"hi"}],"stream":false})";
  const std::string bobs_chat = R"({"model":")" + bob_model +
                                R"(","messages":[{"role":"user","content":"hi"}],"max_tokens":1})";
  const std::vector<Case> cases = {
      {"GET /api/conversations/{id}", "GET", "/api/conversations/" + c, ""},
      {"PATCH /api/conversations/{id}", "PATCH", "/api/conversations/" + c, R"({"training_opt_in":false})"},
      {"DELETE /api/conversations/{id}", "DELETE", "/api/conversations/" + c, ""},
      {"POST /api/conversations/{id}/messages/{message_id}/feedback", "POST",
       "/api/conversations/" + c + "/messages/" + msg + "/feedback", R"({"thumbs":"down"})"},
      {"GET /api/training/datasets/{id}/{file}", "GET", "/api/training/datasets/" + d + "/train.jsonl", ""},
      {"DELETE /api/desktop/agents/{id}", "DELETE", "/api/desktop/agents/" + agent, ""},
      {"POST /api/desktop/agents/{id}/models", "POST", "/api/desktop/agents/" + agent + "/models",
       R"({"model":"qwen2.5:0.5b"})"},
      {"DELETE /api/desktop/agents/{id}/models/{name}", "DELETE",
       "/api/desktop/agents/" + agent + "/models/qwen2.5", ""},
      {"GET /v1/files/{id}", "GET", "/v1/files/" + f, ""},
      {"GET /v1/files/{id}/content", "GET", "/v1/files/" + f + "/content", ""},
      {"DELETE /v1/files/{id}", "DELETE", "/v1/files/" + f, ""},
      {"GET /v1/fine_tuning/jobs/{id}", "GET", "/v1/fine_tuning/jobs/ftjob-" + j, ""},
      {"GET /v1/fine_tuning/jobs/{id}/events", "GET", "/v1/fine_tuning/jobs/ftjob-" + j + "/events", ""},
      {"POST /v1/fine_tuning/jobs/{id}/cancel", "POST", "/v1/fine_tuning/jobs/ftjob-" + j + "/cancel", ""},
      {"GET /v1/models/{model}", "GET", "/v1/models/" + model_name, ""},
      {"PUT /api/personal-models/{id}", "PUT", "/api/personal-models/" + m, R"({"custom_name":"bobs"})"},
      {"DELETE /api/personal-models/{id}", "DELETE", "/api/personal-models/" + m, ""},
      {"GET /api/personal-models/{id}/status", "GET", "/api/personal-models/" + m + "/status", ""},
      {"GET /api/training/jobs/{id}", "GET", "/api/training/jobs/" + j, ""},
      {"POST /api/training/jobs/{id}/cancel", "POST", "/api/training/jobs/" + j + "/cancel", ""},
      {"GET /api/training/jobs/{id}/events", "GET", "/api/training/jobs/" + j + "/events", ""},
      {"GET /api/personal-models/{id}/versions", "GET", "/api/personal-models/" + m + "/versions", ""},
      {"POST /api/personal-models/{id}/rollback", "POST", "/api/personal-models/" + m + "/rollback", ""},
      {"GET /api/personal-models/{id}/compare", "GET", "/api/personal-models/" + m + "/compare", ""},
      {"GET /api/personal-models/{id}/schedule", "GET", "/api/personal-models/" + m + "/schedule", ""},
      {"PUT /api/personal-models/{id}/schedule", "PUT", "/api/personal-models/" + m + "/schedule",
       R"({"enabled":false,"window":"monday 01:00-02:00","time_zone":"UTC"})"},
      {"DELETE /api/personal-models/{id}/schedule", "DELETE", "/api/personal-models/" + m + "/schedule", ""},
      {"HEAD /api/blobs/{digest}", "HEAD", "/api/blobs/" + blob, ""},
      // Ids and names in bodies and headers.
      {"", "POST", "/api/create", R"({"model":"stolen","from":")" + model_name + R"("})"},
      {"", "POST", "/api/create", R"({"model":"stolen","files":{"m.gguf":")" + blob + R"("}})"},
      {"", "POST", "/api/create",
       R"({"model":"stolen","from":")" + bob_model + R"(","adapters":{"a.gguf":")" + blob + R"("}})"},
      {"", "POST", "/api/show", R"({"model":")" + model_name + R"("})"},
      {"", "DELETE", "/api/delete", R"({"model":")" + model_name + R"("})"},
      {"", "POST", "/api/copy", R"({"source":")" + model_name + R"(","destination":"stolen"})"},
      {"", "POST", "/api/chat", chat},
      {"", "POST", "/api/desktop/inference", chat},
      {"", "POST", "/api/generate", R"({"model":")" + model_name + R"(","prompt":"hi","stream":false})"},
      {"", "POST", "/api/embed", R"({"model":")" + model_name + R"(","input":"hi"})"},
      {"", "POST", "/api/embeddings", R"({"model":")" + model_name + R"(","prompt":"hi"})"},
      {"", "POST", "/v1/chat/completions", chat},
      {"", "POST", "/v1/completions", R"({"model":")" + model_name + R"(","prompt":"hi"})"},
      {"", "POST", "/v1/embeddings", R"({"model":")" + model_name + R"(","input":"hi"})"},
      {"", "POST", "/v1/chat/completions", bobs_chat, {{"x-hearth-conversation-id", c}}},
      {"", "POST", "/api/training/start-job", R"({"model":")" + model_name + R"("})"},
      {"", "POST", "/api/training/start-job",
       R"({"model":")" + bob_model + R"(","dataset_version_id":)" + d + "}"},
      {"", "POST", "/api/training/plan", R"({"model":")" + model_name + R"("})"},
      {"", "POST", "/api/training/plan", R"({"model":")" + bob_model + R"(","dataset_version_id":)" + d + "}"},
      {"", "POST", "/api/training/deploy", R"({"job_id":)" + j + R"(,"force":true})"},
      {"", "POST", "/v1/fine_tuning/jobs", R"({"model":")" + model_name + R"(","training_file":")" + f + R"("})"},
      {"", "POST", "/v1/fine_tuning/jobs", R"({"model":")" + bob_model + R"(","training_file":")" + f + R"("})"},
  };

  // Every registered route with a path parameter has a case (or names no user's data).
  std::set<std::string> covered;
  for (const Case& k : cases) covered.insert(k.pattern);
  for (const auto& [method, path] : router.patterns()) {
    if (path.find('{') == std::string::npos) continue;
    const std::string pattern = method + " " + path;
    EXPECT_TRUE(covered.count(pattern) == 1 || kNotUserData.count(pattern) == 1)
        << pattern << " takes an id or a name: add its case to this test";
  }

  const std::string before = alice_state();
  for (const Case& k : cases) {
    SCOPED_TRACE(k.method + " " + k.target + " " + k.body);
    const Answer a = call(bob_token, k.method, k.target, k.body, k.headers);
    EXPECT_EQ(a.status, 404) << a.body;
    // Nothing of alice's in the answer: not her model's, her conversation's or her agent's words.
    EXPECT_EQ(a.body.find("secret plans"), std::string::npos) << a.body;
    EXPECT_EQ(a.body.find("alice's"), std::string::npos) << a.body;
    EXPECT_EQ(alice_state(), before);
  }
  // And alice's own requests still reach them (the cases name real things).
  EXPECT_EQ(call(alice_token, "GET", "/v1/files/" + f).status, 200);
  EXPECT_EQ(call(alice_token, "GET", "/api/personal-models/" + m + "/status").status, 200);
  EXPECT_EQ(call(alice_token, "GET", "/v1/fine_tuning/jobs/ftjob-" + j).status, 200);
  EXPECT_EQ(call(bob_token, "GET", "/api/conversations").body.find(c + ","), std::string::npos);
}

// The audit log records model use (one entry per generation: user, model, tokens) and training
// asked through the API, beside management actions; `hearth audit` shows them.
TEST_P(Isolation, AuditRecordsModelUseAndTraining) {
  make_alices_things();
  const Answer generated =
      call(alice_token, "POST", "/api/generate",
           R"({"model":")" + model_name + R"(","prompt":"hi","stream":false,"options":{"num_predict":2}})");
  ASSERT_EQ(generated.status, 200) << generated.body;
  EXPECT_EQ(call(alice_token, "POST", "/api/training/jobs/" + std::to_string(job) + "/cancel").status, 200);

  // Usage is written off the model's loop: wait for it (a hang bound, not a timing check).
  std::optional<db::AuditEntry> use;
  for (int i = 0; i < 500 && !use; ++i) {
    for (const auto& e : db::AuditLog(*database).list(alice))
      if (e.action == "model.use") use = e;
    if (!use) std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(use.has_value()) << "no model.use entry";
  EXPECT_EQ(use->username, "alice");
  EXPECT_EQ(use->target, model_name);
  const json::value detail = test::json_from(use->detail);
  EXPECT_GT(detail.at("prompt_tokens").as_int64(), 0) << use->detail;
  EXPECT_GE(detail.at("completion_tokens").as_int64(), 1) << use->detail;
  bool cancel = false;
  for (const auto& e : db::AuditLog(*database).list(alice))
    cancel = cancel || (e.action == "training.cancel" && e.target == model_name);
  EXPECT_TRUE(cancel);
  for (const auto& e : db::AuditLog(*database).list(bob))  // bob generated nothing
    EXPECT_NE(e.action, "model.use");

  const auto printed = test::run_hearth({"audit", "--user", "alice", "--json"},
                                        {{"HEARTH_HOME", home().string()}, {"HEARTH_DB", database_url()}});
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const json::value entries = test::json_from(printed.out);
  std::set<std::string> actions;
  for (const auto& e : entries.as_array()) actions.insert(json::value_to<std::string>(e.at("action")));
  EXPECT_TRUE(actions.count("model.use")) << printed.out;
  EXPECT_TRUE(actions.count("training.cancel")) << printed.out;
}

INSTANTIATE_TEST_SUITE_P(Backends, Isolation,
                         ::testing::Values(db::Backend::sqlite, db::Backend::postgresql),
                         [](const auto& info) { return std::string(db::backend_name(info.param)); });

}  // namespace
}  // namespace hearth
