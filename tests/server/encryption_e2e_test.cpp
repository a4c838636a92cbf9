// Encryption at rest, end to end through the real `hearth serve`, on SQLite and PostgreSQL: a
// marker written into a conversation, a correction, an exported dataset, an uploaded file and a
// trained adapter's metadata (its name) comes back to its owner through the API and the CLI, and
// is found nowhere in plaintext under HEARTH_HOME or in PostgreSQL's data folder.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "db/db_test_support.h"
#include "db/internal.h"
#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::ChatClient;
using test::Env;
using test::HttpResult;
using test::json_from;

class EncryptionEndToEnd : public db::test::BackendTest {};

std::string random_marker() {
  std::random_device random;
  std::string out = "mk";
  for (int i = 0; i < 16; ++i) out += "0123456789abcdef"[random() % 16];
  return out;
}

// Every regular file under `root` whose bytes hold `marker` (files that vanish while read, as
// PostgreSQL's may, are skipped).
std::vector<fs::path> files_holding(const fs::path& root, const std::string& marker) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(marker) != std::string::npos) found.push_back(it->path());
  }
  return found;
}

// A multipart/form-data body with one file and its purpose, as the openai client sends it.
HttpResult upload(const test::ServerProcess& server, const std::string& token,
                  const std::string& content) {
  const std::string boundary = "hearthboundary7";
  const std::string body = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"train.jsonl\""
                           "\r\nContent-Type: application/jsonl\r\n\r\n" +
                           content + "\r\n--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--" +
                           boundary + "--\r\n";
  test::HttpOptions o;
  o.headers = {"Authorization: Bearer " + token,
               "Content-Type: multipart/form-data; boundary=" + boundary};
  return test::http("POST", server.url("/v1/files"), &body, o);
}

std::string postgres_data_folder(const std::string& url) {
  db::Database db = db::Database::open(url);
  return db::detail::with_session(*db.impl(), "finding the data folder", [](soci::session& sql) {
    sql << "CHECKPOINT";  // the pages on disk, not only in shared buffers
    std::string folder;
    sql << "SHOW data_directory", soci::into(folder);
    return folder;
  });
}

TEST_P(EncryptionEndToEnd, AMarkerComesBackToItsOwnerAndIsNowhereInPlaintext) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::string marker = random_marker();
  test::TempDir home, outside;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_DB", url()}, {"HEARTH_LOG", "warn"}};
  const std::string alice_token = test::token_for(env, "alice");
  ASSERT_FALSE(alice_token.empty());
  test::ServerProcess server(home.path(), {}, {{"HEARTH_DB", url()}, {"HEARTH_TRAIN_THREADS", "2"}});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const ChatClient alice(server, alice_token);
  test::HttpFileServer files(dir / "models");
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);

  // A conversation and a correction holding the marker.
  const json::value a = alice.chat(json::array{json::object{
      {"role", "user"}, {"content", "Remember the word " + marker + ", please."}}});
  ASSERT_TRUE(test::has_key(a, "hearth")) << a;
  const std::string conversation =
      "/api/conversations/" + std::to_string(a.at_pointer("/hearth/conversation_id").as_int64());
  const json::value fb{{"corrected_answer", "The word is " + marker + "."}, {"comment", marker}};
  HttpResult r = alice.call(
      "POST",
      conversation + "/messages/" + std::to_string(a.at_pointer("/hearth/message_id").as_int64()) +
          "/feedback",
      &fb);
  ASSERT_EQ(r.status, 200) << r.body;

  // An exported dataset (kept under HEARTH_HOME).
  const json::value export_request{{"allow_small", true}, {"validation", 0}};
  r = alice.call("POST", "/api/training/export-data", &export_request);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t dataset = json_from(r.body).at("dataset_version_id").as_int64();

  // An uploaded training file, and a fine-tune named with the marker: the adapter's metadata.
  std::string lines;
  for (int i = 0; i < 12; ++i)
    lines += R"({"messages":[{"role":"user","content":"say )" + marker + " " + std::to_string(i) +
             R"("},{"role":"assistant","content":")" + marker + R"("}]})" + "\n";
  r = upload(server, alice_token, lines);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string file_id(json_from(r.body).at("id").as_string());
  const json::value ft{{"model", "llama3-f16"},
                       {"training_file", file_id},
                       {"suffix", marker},
                       {"hyperparameters", {{"n_epochs", 1}, {"batch_size", 4}}}};
  r = alice.call("POST", "/v1/fine_tuning/jobs", &ft);
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string job_path = "/v1/fine_tuning/jobs/" + std::string(json_from(r.body).at("id").as_string());
  json::value job;
  for (int i = 0; i < 600; ++i) {
    job = alice.get(job_path);
    const auto status = job.at("status").as_string();
    if (status == "succeeded" || status == "failed" || status == "cancelled") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(job.at("status").as_string(), "succeeded") << job;
  const std::string tuned(job.at("fine_tuned_model").as_string());
  EXPECT_NE(tuned.find(marker), std::string::npos) << tuned;

  // Its owner gets every piece back in plaintext.
  const json::value c = alice.get(conversation);
  EXPECT_NE(json::serialize(c).find("Remember the word " + marker), std::string::npos) << c;
  EXPECT_NE(json::serialize(c).find("The word is " + marker), std::string::npos) << c;
  r = alice.call("GET", "/api/training/datasets/" + std::to_string(dataset) + "/train.jsonl");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("The word is " + marker), std::string::npos) << r.body;
  r = alice.call("GET", "/v1/files/" + file_id + "/content");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, lines);
  const fs::path adapter = outside.path() / "adapter.gguf";
  Env cli = env;
  const test::CommandResult exported =
      test::run_hearth({"adapter", "export", tuned, "-o", adapter.string(), "--user", "alice"}, cli);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  // The plain copy the user asked for holds the marker (general.name): the search below can
  // find it where it is in plaintext.
  EXPECT_EQ(files_holding(outside.path(), marker).size(), 1u);

  // Nowhere in plaintext where hearth keeps things.
  for (const fs::path& p : files_holding(home.path(), marker)) ADD_FAILURE() << "plaintext marker in " << p;
  if (GetParam() == db::Backend::postgresql) {
    const std::string folder = postgres_data_folder(url());
    ASSERT_FALSE(folder.empty());
    for (const fs::path& p : files_holding(folder, marker))
      ADD_FAILURE() << "plaintext marker in PostgreSQL's " << p;
  }
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(20)), 0) << server.output();
}

HEARTH_DB_BACKENDS(EncryptionEndToEnd);

}  // namespace
}  // namespace hearth
