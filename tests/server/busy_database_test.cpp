// A busy database holds up only what must be stored, through the real `hearth serve` on SQLite
// and PostgreSQL: while this test holds the database (SQLite: an open write transaction;
// PostgreSQL: every table of the schema locked), GET /api/version, GET /api/tags and a streamed
// chat that is not kept (X-Hearth-Store: false) on other connections are answered, and a kept
// chat waits — it neither fails nor blocks them — and is answered and stored once the database
// is free.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/db_test_support.h"
#include "db/internal.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::db::Backend;
using hearth::test::http;
using hearth::test::HttpOptions;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;
using hearth::test::json_from;
namespace json = boost::json;
using namespace std::chrono_literals;

// How long a request that needs no database may take while the database is held; far more than
// it takes on an idle machine, far less than a wait for the lock would be.
constexpr long kQuickMs = 8'000;

// Holds the database busy from this process until release() or destruction.
class DatabaseHold {
 public:
  DatabaseHold(const std::string& url, Backend backend)
      : db_(hearth::db::Database::open(url, {.pool_size = 1})),
        lease_(std::make_unique<hearth::db::detail::Lease>(*db_.impl())) {
    soci::session& sql = lease_->sql();
    if (backend == Backend::sqlite) {
      // The write lock: every other connection's write waits (readers go on, as SQLite's WAL
      // allows).
      sql << "BEGIN EXCLUSIVE";
      return;
    }
    // Every table of the test's schema, reads included, until this transaction ends.
    std::vector<std::string> tables(64);
    sql << "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()",
        soci::into(tables);
    std::string list;
    for (const auto& t : tables) list += (list.empty() ? "" : ", ") + t;
    EXPECT_NE(list.find("conversations"), std::string::npos) << list;
    sql << "BEGIN";
    sql << "LOCK TABLE " + list + " IN ACCESS EXCLUSIVE MODE";
  }
  ~DatabaseHold() { release(); }
  void release() {
    if (!lease_) return;
    lease_->sql() << "ROLLBACK";
    lease_.reset();
  }

 private:
  hearth::db::Database db_;
  std::unique_ptr<hearth::db::detail::Lease> lease_;
};

class BusyDatabase : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto dir = hearth::test::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    if (GetParam() == Backend::postgresql && !hearth::db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (scripts/postgres.sh start prints one)";
    database = std::make_unique<hearth::db::test::ScratchDatabase>(GetParam());
    const hearth::test::Env env{{"HEARTH_HOME", home.path().string()},
                                {"HEARTH_DB", database->url()}};
    server = std::make_unique<ServerProcess>(home.path(), std::vector<std::string>{}, env);
    ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
    files = std::make_unique<hearth::test::HttpFileServer>(*dir / "models");
    const std::string pull = hearth::format_json(
        json::value{{"model", files->url("llama3-f16.gguf")}, {"stream", false}});
    const HttpResult r = http("POST", server->url("/api/pull"), &pull);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void TearDown() override {
    server.reset();  // before its database goes
    database.reset();
  }

  // An OpenAI chat of a few greedy tokens; `headers` are extra request headers.
  HttpResult chat(const std::string& question, bool stream, std::vector<std::string> headers,
                  long timeout_ms) const {
    const std::string body = hearth::format_json(json::value{
        {"model", "llama3-f16"},
        {"messages", json::array{json::object{{"role", "user"}, {"content", question}}}},
        {"max_tokens", 4},
        {"temperature", 0},
        {"stream", stream}});
    HttpOptions options;
    options.headers = std::move(headers);
    options.timeout_ms = timeout_ms;
    return http("POST", server->url("/v1/chat/completions"), &body, options);
  }
  HttpResult get(const std::string& path, long timeout_ms) const {
    HttpOptions options;
    options.timeout_ms = timeout_ms;
    return http("GET", server->url(path), nullptr, options);
  }

  hearth::test::TempDir home;
  std::unique_ptr<hearth::db::test::ScratchDatabase> database;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<hearth::test::HttpFileServer> files;
};

TEST_P(BusyDatabase, OnlyTheStoredChatWaits) {
  // The model is loaded before the database is held, so every chat below only generates.
  HttpResult warm = chat("Hello", false, {"X-Hearth-Store: false"}, 60'000);
  ASSERT_EQ(warm.status, 200) << warm.body;

  DatabaseHold hold(database->url(), GetParam());
  auto stored =
      std::async(std::launch::async, [&] { return chat("Keep this one", false, {}, 90'000); });
  // Long enough for the kept chat to reach the database (and, on SQLite, to generate its answer).
  std::this_thread::sleep_for(1500ms);

  const HttpResult version = get("/api/version", kQuickMs);
  EXPECT_EQ(version.code, CURLE_OK) << curl_easy_strerror(version.code);
  EXPECT_EQ(version.status, 200) << version.body;
  const HttpResult tags = get("/api/tags", kQuickMs);
  EXPECT_EQ(tags.code, CURLE_OK) << curl_easy_strerror(tags.code);
  EXPECT_EQ(tags.status, 200) << tags.body;
  EXPECT_NE(tags.body.find("llama3-f16"), std::string::npos) << tags.body;
  const HttpResult streamed = chat("Do not keep this", true, {"X-Hearth-Store: false"}, kQuickMs);
  EXPECT_EQ(streamed.code, CURLE_OK) << curl_easy_strerror(streamed.code);
  EXPECT_EQ(streamed.status, 200) << streamed.body;
  EXPECT_NE(streamed.body.find("data: [DONE]"), std::string::npos) << streamed.body;

  // The kept chat is still waiting for the database.
  EXPECT_EQ(stored.wait_for(0s), std::future_status::timeout);
  hold.release();
  ASSERT_EQ(stored.wait_for(60s), std::future_status::ready);
  const HttpResult kept = stored.get();
  ASSERT_EQ(kept.status, 200) << kept.body;
  const json::value answer = json_from(kept.body);
  ASSERT_TRUE(hearth::test::has_key(answer, "hearth")) << answer;
  const std::int64_t id = answer.at_pointer("/hearth/conversation_id").to_number<std::int64_t>();
  EXPECT_GT(id, 0);
  EXPECT_GT(answer.at_pointer("/hearth/message_id").to_number<std::int64_t>(), 0);

  // Stored: the kept chat with its answer, and nothing of the chats that asked not to be.
  const HttpResult list = get("/api/conversations", kQuickMs);
  ASSERT_EQ(list.status, 200) << list.body;
  const json::array conversations = json_from(list.body).at("conversations").as_array();
  ASSERT_EQ(conversations.size(), 1u) << conversations;
  EXPECT_EQ(conversations[0].at("id").as_int64(), id);
  const HttpResult one = get("/api/conversations/" + std::to_string(id), kQuickMs);
  ASSERT_EQ(one.status, 200) << one.body;
  const json::array messages = json_from(one.body).at("messages").as_array();
  ASSERT_EQ(messages.size(), 2u) << messages;
  EXPECT_EQ(messages[0].at("content").as_string(), "Keep this one");
  EXPECT_EQ(messages[1].at("role").as_string(), "assistant");
  EXPECT_EQ(messages[1].at("content"), answer.at_pointer("/choices/0/message/content"));
}

INSTANTIATE_TEST_SUITE_P(Backends, BusyDatabase,
                         ::testing::Values(Backend::sqlite, Backend::postgresql),
                         hearth::db::test::backend_test_name);

}  // namespace
