// RemoteEngineRows (schema 10) on both backends: added, listed by name, found, removed; names
// are unique; an engine given to a user goes with that user; a shared one has no user.
#include "db/remote_engines.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

class RemoteEngineRowsTest : public test::BackendTest {};
HEARTH_DB_BACKENDS(RemoteEngineRowsTest);

TEST_P(RemoteEngineRowsTest, AddListFindRemove) {
  const std::int64_t ada = make_user("ada");
  Database db = open();
  RemoteEngineRows rows(db);
  EXPECT_TRUE(rows.list().empty());
  EXPECT_FALSE(rows.find("vllm"));

  const RemoteEngineRow shared = rows.add({.name = "vllm",
                                           .base_url = "http://10.0.0.5:8000/v1",
                                           .sealed_key = "c2VhbGVk",
                                           .models = {"llama3:8b", "qwen"}});
  EXPECT_GT(shared.id, 0);
  EXPECT_EQ(shared.name, "vllm");
  EXPECT_EQ(shared.base_url, "http://10.0.0.5:8000/v1");
  EXPECT_EQ(shared.sealed_key, "c2VhbGVk");
  EXPECT_EQ(shared.models, (std::vector<std::string>{"llama3:8b", "qwen"}));
  EXPECT_FALSE(shared.user_id);
  EXPECT_LE(shared.created_at, now());

  const RemoteEngineRow own =
      rows.add({.name = "ada-box", .base_url = "http://127.0.0.1:9/v1", .user_id = ada});
  EXPECT_EQ(own.user_id, ada);
  EXPECT_TRUE(own.models.empty());
  EXPECT_EQ(own.sealed_key, "");

  const auto all = rows.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "ada-box");  // by name
  EXPECT_EQ(all[1].name, "vllm");
  EXPECT_EQ(all[1].models, shared.models);

  auto got = rows.find("vllm");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, shared.id);
  EXPECT_EQ(got->created_at, shared.created_at);

  EXPECT_TRUE(rows.remove("vllm"));
  EXPECT_FALSE(rows.remove("vllm"));
  EXPECT_FALSE(rows.find("vllm"));
  EXPECT_EQ(rows.list().size(), 1u);
}

TEST_P(RemoteEngineRowsTest, RefusesDuplicatesUnknownUsersAndEmptyFields) {
  Database db = open();
  RemoteEngineRows rows(db);
  rows.add({.name = "r1", .base_url = "http://a/v1"});
  EXPECT_DB_ERROR(rows.add({.name = "r1", .base_url = "http://b/v1"}), ErrorKind::conflict);
  EXPECT_DB_ERROR(rows.add({.name = "r2", .base_url = "http://b/v1", .user_id = 4242}),
                  ErrorKind::not_found);
  EXPECT_DB_ERROR(rows.add({.name = "", .base_url = "http://b/v1"}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(rows.add({.name = "r3", .base_url = ""}), ErrorKind::invalid_input);
  EXPECT_EQ(rows.list().size(), 1u);
}

TEST_P(RemoteEngineRowsTest, GoesWithItsUser) {
  const std::int64_t ada = make_user("ada");
  const std::int64_t bo = make_user("bo");
  Database db = open();
  RemoteEngineRows rows(db);
  rows.add({.name = "ada-box", .base_url = "http://a/v1", .user_id = ada});
  rows.add({.name = "bo-box", .base_url = "http://b/v1", .user_id = bo});
  rows.add({.name = "shared", .base_url = "http://c/v1"});
  test::raw_sql(db, "DELETE FROM users WHERE id = " + std::to_string(ada));
  const auto left = rows.list();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].name, "bo-box");
  EXPECT_EQ(left[1].name, "shared");
}

}  // namespace
}  // namespace hearth::db
