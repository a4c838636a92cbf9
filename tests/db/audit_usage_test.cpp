// The audit log, per-model usage and the migration that added them, on both backends.
#include <chrono>
#include <thread>

#include "db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::db {
namespace {

namespace json = boost::json;
using hearth::test::json_from;

using test::BackendTest;

class AuditLogTest : public BackendTest {};
HEARTH_DB_BACKENDS(AuditLogTest);

class ModelUsageTest : public BackendTest {};
HEARTH_DB_BACKENDS(ModelUsageTest);

TEST_P(AuditLogTest, RecordsNewestFirstAndScopesByUser) {
  std::int64_t ada = make_user("ada");
  std::int64_t grace = make_user("grace");
  Database db = open();
  AuditLog log(db);
  Timestamp before = now();
  AuditEntry first = log.record(ada, "user.add", "ada", R"({"email": "ada@example.com"})");
  EXPECT_GT(first.id, 0);
  EXPECT_EQ(first.user_id, ada);
  EXPECT_EQ(first.username, "ada");
  EXPECT_EQ(first.action, "user.add");
  EXPECT_EQ(first.target, "ada");
  EXPECT_EQ(json_from(first.detail), json::value(json::object{{"email", "ada@example.com"}}));
  EXPECT_GE(first.created_at, before);
  log.record(grace, "token.create", "hearth_abcde");
  log.record(std::nullopt, "server.start", "");
  log.record(ada, "token.revoke", "hearth_fghij");

  auto all = log.list();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].action, "token.revoke");  // newest first, even within one millisecond
  EXPECT_EQ(all[1].action, "server.start");
  EXPECT_FALSE(all[1].user_id.has_value());
  EXPECT_EQ(all[1].username, "");
  EXPECT_EQ(all[1].detail, "{}");
  EXPECT_EQ(all[3].id, first.id);

  auto mine = log.list(ada);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].action, "token.revoke");
  EXPECT_EQ(mine[1].action, "user.add");
  EXPECT_EQ(log.list(grace).size(), 1u);
  EXPECT_EQ(log.list(std::nullopt, 2).size(), 2u);
  EXPECT_EQ(log.list(ada, 1)[0].action, "token.revoke");
}

TEST_P(AuditLogTest, RefusesBadDetailAndUnknownUsers) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  AuditLog log(db);
  EXPECT_DB_ERROR(log.record(ada, "x", "", "{not json"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(log.record(ada, "x", "", "[1, 2]"), ErrorKind::invalid_input);  // not an object
  EXPECT_DB_ERROR(log.record(ada, "x", "", "\"text\""), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(log.record(ada, "", "", "{}"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(log.record(ada + 1000, "x", "", "{}"), ErrorKind::not_found);
  EXPECT_TRUE(log.list().empty());
  EXPECT_EQ(log.record(ada, "x", "", "").detail, "{}");  // empty means no detail
}

TEST_P(AuditLogTest, EntriesOutliveTheirUser) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  AuditLog log(db);
  log.record(ada, "user.add", "ada");
  ASSERT_TRUE(Users(db).remove(ada));
  auto all = log.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_FALSE(all[0].user_id.has_value());
  EXPECT_EQ(all[0].target, "ada");
}

TEST_P(ModelUsageTest, UpsertAccumulatesAndBumpsUsageCount) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  PersonalModel m = models.add({.user_id = user, .model_id = "rm", .custom_name = "chat:v1"});
  ModelUsage usage(db);
  EXPECT_FALSE(usage.get(user, "chat:v1").has_value());

  Timestamp before = now();
  usage.record(user, "chat:v1", 10, 20, 1'000'000'000);
  usage.record(user, "chat:v1", 5, 7, 3'000'000'000'000);  // past 32 bits
  auto totals = usage.get(user, "chat:v1");
  ASSERT_TRUE(totals.has_value());
  EXPECT_EQ(totals->user_id, user);
  EXPECT_EQ(totals->model, "chat:v1");
  EXPECT_EQ(totals->requests, 2);
  EXPECT_EQ(totals->prompt_tokens, 15);
  EXPECT_EQ(totals->completion_tokens, 27);
  EXPECT_EQ(totals->eval_ns, 3'001'000'000'000);
  EXPECT_GE(totals->last_used_at, before);
  EXPECT_EQ(models.find(m.id)->usage_count, 2);

  // A model the user has no personal row for is counted too; no row is touched. (The pause
  // makes its last use later by at least the stored millisecond.)
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  usage.record(user, "other", 1, 1, 1);
  EXPECT_EQ(models.find(m.id)->usage_count, 2);
  auto list = usage.list(user);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].model, "other");  // most recently used first
  EXPECT_TRUE(usage.list(user + 1000).empty());
}

TEST_P(ModelUsageTest, UsersAreCountedApart) {
  std::int64_t ada = make_user("ada");
  std::int64_t grace = make_user("grace");
  Database db = open();
  PersonalModels models(db);
  PersonalModel graces = models.add({.user_id = grace, .model_id = "m"});
  ModelUsage usage(db);
  usage.record(ada, "m", 1, 2, 3);
  EXPECT_EQ(usage.get(ada, "m")->requests, 1);
  EXPECT_FALSE(usage.get(grace, "m").has_value());
  EXPECT_EQ(models.find(graces.id)->usage_count, 0);  // another user's model of the same name
}

TEST_P(ModelUsageTest, TotalsFollowARenamedModel) {
  std::int64_t ada = make_user("ada");
  std::int64_t grace = make_user("grace");
  Database db = open();
  ModelUsage usage(db);
  usage.record(ada, "old:latest", 10, 20, 30);
  usage.record(ada, "old:latest", 1, 2, 3);
  usage.record(ada, "new:latest", 100, 100, 100);  // a model of that name deleted earlier
  usage.record(grace, "old:latest", 5, 5, 5);
  usage.rename(ada, "old:latest", "new:latest");
  EXPECT_FALSE(usage.get(ada, "old:latest").has_value());
  const auto moved = usage.get(ada, "new:latest");
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->requests, 2);
  EXPECT_EQ(moved->prompt_tokens, 11);
  EXPECT_EQ(moved->completion_tokens, 22);
  EXPECT_EQ(usage.get(grace, "old:latest")->requests, 1);  // another user's stays
  usage.rename(ada, "never-used:latest", "other:latest");  // nothing to move: fine
  EXPECT_FALSE(usage.get(ada, "other:latest").has_value());
}

TEST_P(ModelUsageTest, RefusesBadValues) {
  std::int64_t user = make_user();
  Database db = open();
  ModelUsage usage(db);
  EXPECT_DB_ERROR(usage.record(user, "", 1, 1, 1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(usage.record(user, "m", -1, 1, 1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(usage.record(user, "m", 1, -1, 1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(usage.record(user, "m", 1, 1, -1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(usage.record(user + 1000, "m", 1, 1, 1), ErrorKind::not_found);
  EXPECT_TRUE(usage.list(user).empty());
}

TEST_P(ModelUsageTest, MigratesFromTheSchemaBeforeTokens) {
  std::int64_t user = 0;
  {
    Database v3 = open({.migrate_to = 3});
    ASSERT_EQ(v3.schema_version(), 3);
    user = Users(v3).create("old", "", "").id;
    PersonalModels(v3).add({.user_id = user, .model_id = "m"});
    EXPECT_DB_ERROR(ApiTokens(v3).list(), ErrorKind::io);  // no such table yet
  }
  Database db = open();
  EXPECT_EQ(db.schema_version(), Database::latest_schema_version());
  EXPECT_GE(db.schema_version(), 4);
  CreatedApiToken t = ApiTokens(db).create(user, "after upgrade");
  EXPECT_TRUE(ApiTokens(db).find_by_plaintext(t.plaintext).has_value());
  AuditLog(db).record(user, "token.create", t.token.prefix);
  ModelUsage(db).record(user, "m", 1, 1, 1);
  EXPECT_EQ(PersonalModels(db).find_by_name(user, "m")->usage_count, 1);
  EXPECT_EQ(AuditLog(db).list(user).size(), 1u);
}

}  // namespace
}  // namespace hearth::db
