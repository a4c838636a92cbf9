// The library's HTTP routes (routes_library.cpp, routes_personal.cpp) through Router::handle,
// with a real Library over a temporary store and database; callers are set on the request.
#include <chrono>
#include <fstream>
#include <thread>

#include "db/db_test_support.h"
#include "library/library_test_util.h"
#include "server/api.h"
#include "server/response_stream.h"
#include "support/json_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::has_key;
using test::json_from;
using namespace std::chrono_literals;

class LibraryRoutes : public test::LibraryFixture {
 protected:
  void SetUp() override {
    LibraryFixture::SetUp();
    server::Scheduler::Options options;
    options.num_parallel = 1;
    options.threads = 1;
    options.default_num_ctx = 128;
    scheduler = std::make_unique<server::Scheduler>(options);
    auth = std::make_unique<server::Authenticator>(*database, server::AuthMode::automatic, false);
    // Built in place: ApiContext holds atomics and cannot move.
    api.reset(new server::ApiContext{*store, *database, *library, *scheduler, *auth, {}, {}});
    server::add_library_routes(router, *api);
    server::add_personal_routes(router, *api);
    server::add_ollama_routes(router, *api);  // /api/generate loads with a keep_alive
  }
  void TearDown() override {
    library->shutdown();  // pull threads use the context: stop them before it goes
    api.reset();
    scheduler.reset();
    LibraryFixture::TearDown();
  }

  server::Response call(std::int64_t user, std::string method, std::string target,
                        std::string body = "") {
    server::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.content_type = "application/json";
    r.caller.user_id = user;
    return router.handle(r);
  }
  static json::value body_of(const server::Response& r) { return json_from(r.body); }
  // A request body: the JSON text of `body`.
  static std::string text(const json::value& body) { return format_json(body); }

  // Waits for a streamed answer: {status, content type, the whole body}.
  struct Streamed {
    int status = 0;
    std::string content_type, body;
  };
  static Streamed drain(const server::Response& r) {
    Streamed out;
    if (!r.stream) return {r.status, r.content_type, r.body};
    for (int i = 0; i < 1000; ++i) {
      auto t = r.stream->take();
      if (t.has_head) out.status = t.status, out.content_type = t.content_type;
      out.body += t.data;
      if (t.finished) return out;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "the stream did not finish";
    return out;
  }
  static std::vector<json::value> lines(const std::string& ndjson) {
    std::vector<json::value> out;
    size_t start = 0;
    for (size_t nl; (nl = ndjson.find('\n', start)) != std::string::npos; start = nl + 1)
      out.push_back(json_from(ndjson.substr(start, nl - start)));
    return out;
  }

  std::unique_ptr<server::Scheduler> scheduler;
  std::unique_ptr<server::Authenticator> auth;
  std::unique_ptr<server::ApiContext> api;
  server::Router router;
};

TEST_F(LibraryRoutes, PullStreamsOllamaProgressAndErrorsComeBeforeTheStream) {
  test::write_tiny_model(served() / "streamed.gguf");
  auto r = drain(call(alice, "POST", "/api/pull",
                      text({{"model", server->url("streamed.gguf")}})));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-ndjson");
  auto events = lines(r.body);
  ASSERT_GE(events.size(), 3u) << r.body;
  EXPECT_EQ(events.front().at("status").as_string(), "pulling manifest");
  EXPECT_EQ(events.back().at("status").as_string(), "success");
  bool saw_bytes = false;
  for (const auto& e : events)
    if (has_key(e, "completed"))
      saw_bytes = e.at("total") == json::value(fs::file_size(served() / "streamed.gguf"));
  EXPECT_TRUE(saw_bytes) << r.body;

  // stream:false: one answer at the end ("name" is the older spelling of "model").
  test::write_tiny_model(served() / "quiet.gguf", 64);
  r = drain(call(alice, "POST", "/api/pull",
                 text({{"name", server->url("quiet.gguf")}, {"stream", false}})));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_from(r.body), (json::value{{"status", "success"}}));

  // Errors found before anything was fetched keep their status.
  r = drain(call(alice, "POST", "/api/pull", text({{"model", server->url("missing.gguf")}})));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_TRUE(json_from(r.body).at("error").is_string());
  EXPECT_EQ(call(alice, "POST", "/api/pull", "{}").status, 400);
  EXPECT_EQ(body_of(call(alice, "POST", "/api/pull", R"({"model": 7})")).at("error").as_string(),
            "field 'model' must be a string");
  r = drain(call(bob, "POST", "/api/pull", text({{"model", "/etc/hostname"}})));
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(LibraryRoutes, TagsModelsShowDeleteAndCopyAreScopedToTheCaller) {
  const std::string a = pull_served(alice, "Scoped.gguf");
  ASSERT_EQ(a, "scoped:latest");

  json::value tags = body_of(call(alice, "GET", "/api/tags"));
  ASSERT_EQ(tags.at("models").as_array().size(), 1u);
  EXPECT_EQ(tags.at_pointer("/models/0/name").as_string(), a);
  EXPECT_EQ(tags.at_pointer("/models/0/details/family").as_string(), "llama");
  EXPECT_EQ(tags.at_pointer("/models/0/details/format").as_string(), "gguf");
  EXPECT_EQ(tags.at_pointer("/models/0/digest").as_string().size(), 64u);
  EXPECT_TRUE(body_of(call(bob, "GET", "/api/tags")).at("models").as_array().empty());
  // Names are each user's own: not even the machine's owner lists Alice's among theirs.
  EXPECT_TRUE(body_of(call(local, "GET", "/api/tags")).at("models").as_array().empty());

  json::value models = body_of(call(alice, "GET", "/v1/models"));
  EXPECT_EQ(models.at("object").as_string(), "list");
  ASSERT_EQ(models.at("data").as_array().size(), 1u);
  EXPECT_EQ(models.at_pointer("/data/0/id").as_string(), a);
  EXPECT_TRUE(body_of(call(bob, "GET", "/v1/models")).at("data").as_array().empty());
  EXPECT_EQ(body_of(call(alice, "GET", "/v1/models/scoped:latest")).at("id").as_string(), a);
  server::Response r = call(bob, "GET", "/v1/models/scoped:latest");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(body_of(r).at_pointer("/error/code").as_string(), "not_found");  // OpenAI's error shape

  r = call(alice, "POST", "/api/show", text({{"model", "scoped"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  json::value show = body_of(r);
  EXPECT_EQ(show.at_pointer("/model_info/general.architecture").as_string(), "llama");
  EXPECT_EQ(show.at_pointer("/model_info/general.parameter_count").to_number<std::uint64_t>(),
            test::tiny_model_parameters());
  EXPECT_EQ(show.at_pointer("/details/family").as_string(), "llama");
  EXPECT_EQ(show.at("capabilities"), json::value(json::array{"completion"}));
  // The Modelfile names the model, never a file of the server.
  const std::string modelfile = json::value_to<std::string>(show.at("modelfile"));
  EXPECT_NE(modelfile.find("FROM scoped:latest"), std::string::npos) << modelfile;
  EXPECT_EQ(modelfile.find(home().string()), std::string::npos) << modelfile;
  EXPECT_EQ(modelfile.find("sha256-"), std::string::npos) << modelfile;
  r = call(bob, "POST", "/api/show", text({{"model", "scoped"}}));
  EXPECT_EQ(r.status, 404);
  const std::string not_found = json::value_to<std::string>(body_of(r).at("error"));
  EXPECT_EQ(not_found.rfind("model 'scoped' not found", 0), 0u) << not_found;
  EXPECT_EQ(body_of(call(alice, "POST", "/api/show", "{}")).at("error").as_string(),
            "field 'model' is required");
  EXPECT_EQ(call(alice, "POST", "/api/show", "not json").status, 400);

  r = call(alice, "POST", "/api/copy", text({{"source", a}, {"destination", "copy:v1"}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(call(bob, "POST", "/api/copy", text({{"source", a}, {"destination", "x"}})).status,
            404);
  EXPECT_EQ(
      body_of(call(alice, "POST", "/api/copy", text({{"source", a}}))).at("error").as_string(),
      "field 'destination' is required");

  EXPECT_EQ(call(bob, "DELETE", "/api/delete", text({{"model", a}})).status, 404);
  r = call(alice, "DELETE", "/api/delete", text({{"model", a}}));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(call(alice, "DELETE", "/api/delete", text({{"model", a}})).status, 404);
  EXPECT_EQ(body_of(call(alice, "GET", "/api/tags")).at_pointer("/models/0/name").as_string(),
            "copy:v1");

  // A broken manifest is a server error that names no file of the server.
  const fs::path manifest = home() / "users" / std::to_string(alice) / "manifests" / "copy" / "v1";
  ASSERT_TRUE(fs::exists(manifest));
  std::ofstream(manifest, std::ios::trunc) << "{ not json";
  r = call(alice, "POST", "/api/show", text({{"model", "copy:v1"}}));
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.body.find(home().string()), std::string::npos) << r.body;

  // ps lists nothing loaded (loading needs a real model: see PsShowsOnlyTheCallersModels).
  EXPECT_TRUE(body_of(call(alice, "GET", "/api/ps")).at("models").as_array().empty());
}

TEST_F(LibraryRoutes, PersonalModelsDownloadStatusUpdateAndDelete) {
  test::write_tiny_model(served() / "personal.gguf");
  server::Response r = call(alice, "POST", "/api/personal-models/download",
                            text({{"model_id", server->url("personal.gguf")},
                                  {"custom_name", "mine:v1"}}));
  ASSERT_EQ(r.status, 202) << r.body;
  const json::value row = body_of(r);
  EXPECT_EQ(row.at("custom_name").as_string(), "mine:v1");
  const std::string id = std::to_string(row.at("id").to_number<std::int64_t>());
  json::value status;
  for (int i = 0; i < 400; ++i) {
    status = body_of(call(alice, "GET", "/api/personal-models/" + id + "/status"));
    if (has_key(status, "status") && (status.at("status") == json::value("installed") ||
                                      status.at("status") == json::value("failed")))
      break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status.at("status").as_string(), "installed") << format_json(status);
  EXPECT_EQ(status.at("download_progress").to_number<double>(), 100.0);
  EXPECT_TRUE(status.at("error").is_null());

  json::value listed = body_of(call(alice, "GET", "/api/personal-models"));
  ASSERT_EQ(listed.at("models").as_array().size(), 1u);
  EXPECT_EQ(listed.at_pointer("/models/0/status").as_string(), "installed");
  for (const char* key : {"id", "model_id", "custom_name", "download_progress", "fine_tuned",
                          "fine_tune_version", "last_training_date", "performance_score",
                          "usage_count", "model_size_gb", "created_at", "updated_at"})
    EXPECT_TRUE(has_key(listed.at_pointer("/models/0"), key)) << key;
  EXPECT_TRUE(body_of(call(bob, "GET", "/api/personal-models")).at("models").as_array().empty());
  EXPECT_EQ(call(bob, "GET", "/api/personal-models/" + id + "/status").status, 404);
  EXPECT_EQ(call(bob, "DELETE", "/api/personal-models/" + id).status, 404);
  EXPECT_EQ(call(alice, "GET", "/api/personal-models/abc/status").status, 400);
  EXPECT_EQ(
      body_of(call(alice, "POST", "/api/personal-models/download", "{}")).at("error").as_string(),
      "field 'model_id' is required");

  json::value desktop = body_of(call(alice, "GET", "/api/desktop/models"));
  ASSERT_EQ(desktop.at("models").as_array().size(), 1u);
  EXPECT_EQ(desktop.at_pointer("/models/0/name").as_string(), "mine:v1");
  EXPECT_EQ(desktop.at_pointer("/models/0/family").as_string(), "llama");
  EXPECT_TRUE(body_of(call(bob, "GET", "/api/desktop/models")).at("models").as_array().empty());

  r = call(alice, "PUT", "/api/personal-models/" + id,
           text({{"custom_name", "renamed:v2"}, {"parameters", {{"temperature", 0.3}}}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r).at("custom_name").as_string(), "renamed:v2");
  EXPECT_EQ(library->names(alice).find("renamed:v2")->parameters.temperature, 0.3);
  EXPECT_EQ(call(alice, "PUT", "/api/personal-models/" + id, "{}").status, 400);
  EXPECT_EQ(body_of(call(alice, "PUT", "/api/personal-models/" + id, R"({"parameters": 3})"))
                .at("error")
                .as_string(),
            "field 'parameters' must be an object");
  // Options to keep are checked as a request's are, and a misspelt one is refused, not kept.
  EXPECT_EQ(body_of(call(alice, "PUT", "/api/personal-models/" + id,
                         R"({"parameters": {"temperature": 500}})"))
                .at("error")
                .as_string(),
            "field 'temperature' must be between 0 and 100");
  EXPECT_EQ(body_of(call(alice, "PUT", "/api/personal-models/" + id,
                         R"({"parameters": {"temprature": 0.5}})"))
                .at("error")
                .as_string(),
            "unknown option 'temprature' (known: temperature, top_k, top_p, min_p, "
            "repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, seed, stop, "
            "num_ctx, num_predict, num_gpu)");
  EXPECT_EQ(library->names(alice).find("renamed:v2")->parameters.temperature, 0.3);

  r = call(alice, "DELETE", "/api/personal-models/" + id);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(library->names(alice).find("renamed:v2").has_value());
  EXPECT_EQ(call(alice, "GET", "/api/personal-models/" + id + "/status").status, 404);
}

TEST_F(LibraryRoutes, CatalogAndHardwareDescribeThisMachine) {
  json::value catalog = body_of(call(alice, "GET", "/api/catalog"));
  ASSERT_FALSE(catalog.at("models").as_array().empty());
  EXPECT_TRUE(catalog.at_pointer("/models/0/verdict").is_string());
  EXPECT_TRUE(catalog.at_pointer("/models/0/fits").is_bool());
  EXPECT_EQ(catalog.at_pointer("/models/0/installed"), json::value(false));
  EXPECT_GT(catalog.at_pointer("/machine/logical_cores").to_number<int>(), 0);
  EXPECT_EQ(body_of(call(alice, "GET", "/api/catalog?ctx=2048")).at("context_length").as_int64(),
            2048);
  EXPECT_EQ(call(alice, "GET", "/api/catalog?ctx=1").status, 400);
  json::value hw = body_of(call(alice, "GET", "/api/hardware"));
  EXPECT_GT(hw.at("logical_cores").to_number<int>(), 0);
  EXPECT_TRUE(has_key(hw, "ram_total_bytes"));
}

TEST_F(LibraryRoutes, PsShowsOnlyTheCallersModels) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  fs::copy_file(dir / "models" / "llama-gqa-f32.gguf", served() / "gqa.gguf");
  const std::string a = pull_served(alice, "gqa.gguf");
  const library::ResolvedModel m = library->resolve(alice, a);
  std::atomic<bool> done{false};
  scheduler->preload(m.name, m.model_path.string(), std::nullopt,
                     [&](server::GenerationEvent&&) { done = true; });
  for (int i = 0; i < 500 && !done; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(done);
  json::value ps = body_of(call(alice, "GET", "/api/ps"));
  ASSERT_EQ(ps.at("models").as_array().size(), 1u) << format_json(ps);
  EXPECT_EQ(ps.at_pointer("/models/0/name").as_string(), a);
  EXPECT_EQ(ps.at_pointer("/models/0/size_vram").as_int64(), 0);
  EXPECT_GT(ps.at_pointer("/models/0/size").to_number<std::uint64_t>(), 0u);
  EXPECT_EQ(ps.at_pointer("/models/0/details/family").as_string(), "llama");
  EXPECT_TRUE(ps.at_pointer("/models/0/expires_at").as_string().find('T') != std::string::npos);
  EXPECT_TRUE(body_of(call(bob, "GET", "/api/ps")).at("models").as_array().empty());
  // A keep_alive beyond what a clock holds keeps it loaded for good (a date a century away),
  // rather than overflowing into "unload now" or a date before 1970.
  for (const json::value& huge : {json::value(1e12), json::value(1e300), json::value("1e13h")}) {
    const auto loaded =
        drain(call(alice, "POST", "/api/generate", text({{"model", a}, {"keep_alive", huge}})));
    ASSERT_EQ(loaded.status, 200) << loaded.body;
    std::this_thread::sleep_for(50ms);
    ps = body_of(call(alice, "GET", "/api/ps"));
    ASSERT_EQ(ps.at("models").as_array().size(), 1u) << format_json(huge);
    const std::string expires_at =
        json::value_to<std::string>(ps.at_pointer("/models/0/expires_at"));
    EXPECT_GE(std::stoi(expires_at.substr(0, 4)), 2100) << format_json(ps);
  }
  // Bob's own name for the same weights: he sees the loaded model under his name, not Alice's.
  library::PullSettings settings;
  settings.name = "bobs-name";
  ASSERT_TRUE(library->pull(bob, server->url("gqa.gguf"), {}, {}, settings));
  ps = body_of(call(bob, "GET", "/api/ps"));
  ASSERT_EQ(ps.at("models").as_array().size(), 1u) << format_json(ps);
  EXPECT_EQ(ps.at_pointer("/models/0/name").as_string(), "bobs-name:latest");
  EXPECT_EQ(format_json(ps).find(a), std::string::npos) << format_json(ps);
}

// The library's routes on each database backend (PostgreSQL when HEARTH_TEST_POSTGRES_URL is set).
class LibraryRoutesOnEachBackend : public LibraryRoutes,
                                   public ::testing::WithParamInterface<db::Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == db::Backend::postgresql && !db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (scripts/postgres.sh start prints one)";
    scratch = std::make_unique<db::test::ScratchDatabase>(GetParam());
    LibraryRoutes::SetUp();
  }
  void TearDown() override {
    if (!scratch) return;  // skipped
    LibraryRoutes::TearDown();
    library.reset();
    auth.reset();
    database.reset();  // before its database goes
    scratch.reset();
  }
  std::string database_url() const override { return scratch->url(); }

  std::optional<db::PersonalModel> row_of(std::int64_t user, const std::string& name) {
    for (auto& row : db::PersonalModels(*database).list_for_user(user))
      if (row.custom_name == name) return row;
    return std::nullopt;
  }

  std::unique_ptr<db::test::ScratchDatabase> scratch;
};

// An API pull runs the check `hearth pull` runs (load, a few tokens) and stores its speed as the
// row's performance score, reporting the check as a status of its own.
TEST_P(LibraryRoutesOnEachBackend, ApiPullsCheckTheModelAndStoreItsScore) {
  test::write_tiny_model(served() / "scored.gguf");
  auto r = drain(call(alice, "POST", "/api/pull", text({{"model", server->url("scored.gguf")}})));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto events = lines(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_EQ(events[events.size() - 2].at("status").as_string(), "checking the model") << r.body;
  EXPECT_EQ(events.back().at("status").as_string(), "success") << r.body;
  auto row = row_of(alice, "scored:latest");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::installed);
  ASSERT_TRUE(row->performance_score);
  EXPECT_GT(*row->performance_score, 0.0);

  // The dashboard's download route pulls on a background thread: the same check, the same score.
  test::write_tiny_model(served() / "dashboard.gguf", 256, 0.25f);
  const server::Response started = call(alice, "POST", "/api/personal-models/download",
                                        text({{"model_id", server->url("dashboard.gguf")}}));
  ASSERT_EQ(started.status, 202) << started.body;
  for (int i = 0; i < 1000; ++i) {
    row = row_of(alice, "dashboard:latest");
    if (row && (row->status == db::ModelStatus::installed || row->status == db::ModelStatus::failed))
      break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(row);
  ASSERT_EQ(row->status, db::ModelStatus::installed)
      << library->failure_message(alice, "dashboard:latest");
  ASSERT_TRUE(row->performance_score);
  EXPECT_GT(*row->performance_score, 0.0);
  const json::value listed = body_of(call(alice, "GET", "/api/personal-models"));
  for (const auto& m : listed.at("models").as_array())
    EXPECT_GT(m.at("performance_score").to_number<double>(), 0.0) << m;
}

// A download that is GGUF but no model fails the check: as after `hearth pull`, the row is failed
// with "the model does not load", the error says how to remove it, and its files stay for that.
TEST_P(LibraryRoutesOnEachBackend, AFileThatFailsTheCheckEndsAsTheCliPullDoes) {
  test::write_plain_gguf(served() / "plain.gguf", 1000);
  auto r = drain(call(alice, "POST", "/api/pull", text({{"model", server->url("plain.gguf")}})));
  ASSERT_EQ(r.status, 200) << r.body;  // the stream had begun when the check failed
  const auto events = lines(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_EQ(events[events.size() - 2].at("status").as_string(), "checking the model") << r.body;
  const std::string streamed = json::value_to<std::string>(events.back().at("error"));
  EXPECT_NE(streamed.find("does not load"), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("hearth rm plain:latest"), std::string::npos) << streamed;

  // Pulled again with stream:false: checked again, the same error as the answer itself.
  r = drain(call(alice, "POST", "/api/pull",
                 text({{"model", server->url("plain.gguf")}, {"stream", false}})));
  EXPECT_GE(r.status, 400) << r.body;
  EXPECT_EQ(json_from(r.body).at("error").as_string(), streamed);

  auto row = row_of(alice, "plain:latest");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::failed);
  EXPECT_FALSE(row->performance_score);
  EXPECT_EQ(library->failure_message(alice, "plain:latest").rfind("the model does not load", 0),
            0u)
      << library->failure_message(alice, "plain:latest");
  EXPECT_TRUE(library->names(alice).find("plain:latest").has_value());
  EXPECT_EQ(test::blob_names(blobs()).size(), 1u);

  ASSERT_EQ(call(alice, "DELETE", "/api/delete", text({{"model", "plain"}})).status, 200);
  EXPECT_TRUE(test::blob_names(blobs()).empty());
  EXPECT_FALSE(row_of(alice, "plain:latest"));
}

HEARTH_DB_BACKENDS(LibraryRoutesOnEachBackend);

}  // namespace
}  // namespace hearth
