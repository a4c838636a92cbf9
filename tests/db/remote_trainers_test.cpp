// RemoteTrainers (schema 8) on both backends: one row per user, replaced in place, removed, and
// gone with its user.
#include "db/training.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

class RemoteTrainersTest : public test::BackendTest {};
HEARTH_DB_BACKENDS(RemoteTrainersTest);

TEST_P(RemoteTrainersTest, PutFindReplaceRemove) {
  const std::int64_t ada = make_user("ada");
  const std::int64_t bo = make_user("bo");
  Database db = open();
  RemoteTrainers remote(db);
  EXPECT_FALSE(remote.find(ada));
  remote.put(ada, "https://api.example.com/v1", "c2VhbGVk");
  auto got = remote.find(ada);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->user_id, ada);
  EXPECT_EQ(got->base_url, "https://api.example.com/v1");
  EXPECT_EQ(got->sealed_key, "c2VhbGVk");
  EXPECT_FALSE(remote.find(bo));  // per user

  remote.put(ada, "http://other.example/v1", "b3RoZXI=");
  got = remote.find(ada);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->base_url, "http://other.example/v1");
  EXPECT_EQ(got->sealed_key, "b3RoZXI=");

  remote.put(bo, "https://b.example/v1", "Ym8=");
  EXPECT_TRUE(remote.remove(ada));
  EXPECT_FALSE(remote.remove(ada));
  EXPECT_FALSE(remote.find(ada));
  EXPECT_TRUE(remote.find(bo));
  test::raw_sql(db, "DELETE FROM users WHERE id = " + std::to_string(bo));
  EXPECT_FALSE(remote.find(bo));
}

}  // namespace
}  // namespace hearth::db
