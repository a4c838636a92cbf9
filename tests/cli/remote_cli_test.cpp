// `hearth remote add | list | remove` through the real binary on a SQLite database in a temporary
// HEARTH_HOME: the row it leaves (the key sealed, never in the clear nor printed), and clear errors
// for a duplicate name, an unknown user, a bad URL or name, and a missing engine.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/remote_engines.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using test::CommandResult;
using test::contains;

class RemoteCliTest : public ::testing::Test {
 protected:
  std::string db_url() const { return "sqlite://" + (temp.path() / "hub.db").string(); }
  CommandResult hearth(const std::vector<std::string>& args) const {
    return test::run_hearth(args, {{"HEARTH_HOME", (temp.path() / "home").string()},
                                   {"HEARTH_DB", db_url()},
                                   {"HEARTH_LOG", "warn"}});
  }
  test::TempDir temp;
};

TEST_F(RemoteCliTest, AddListRemove) {
  ASSERT_EQ(hearth({"user", "add", "ada"}).exit_code, 0);
  CommandResult r = hearth({"remote", "add", "vllm", "--url", "http://127.0.0.1:8000/v1/",
                            "--api-key", "sk-very-secret", "--models", "llama3:8b, qwen,,"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Added remote engine vllm")) << r.out;
  EXPECT_FALSE(contains(r.out + r.err, "sk-very-secret"));
  r = hearth({"remote", "add", "box", "--url", "https://10.1.2.3/v1", "--user", "ada"});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = hearth({"remote", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "http://127.0.0.1:8000/v1 ")) << r.out;  // no trailing '/'
  EXPECT_TRUE(contains(r.out, "llama3:8b,qwen")) << r.out;
  EXPECT_TRUE(contains(r.out, "(shared)")) << r.out;
  EXPECT_TRUE(contains(r.out, "(discovered)")) << r.out;
  EXPECT_TRUE(contains(r.out, "ada")) << r.out;
  EXPECT_FALSE(contains(r.out, "sk-very-secret")) << r.out;

  db::Database db = db::Database::open(db_url());
  const auto row = db::RemoteEngineRows(db).find("vllm");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->base_url, "http://127.0.0.1:8000/v1");
  EXPECT_EQ(row->models, (std::vector<std::string>{"llama3:8b", "qwen"}));
  EXPECT_FALSE(row->sealed_key.empty());
  EXPECT_FALSE(contains(row->sealed_key, "sk-very-secret"));
  EXPECT_FALSE(row->user_id);
  const auto box = db::RemoteEngineRows(db).find("box");
  ASSERT_TRUE(box);
  EXPECT_TRUE(box->user_id.has_value());
  EXPECT_TRUE(box->sealed_key.empty());
  EXPECT_FALSE(contains(test::read_file(temp.path() / "hub.db"), "sk-very-secret"));

  r = hearth({"remote", "remove", "vllm"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(db::RemoteEngineRows(db).find("vllm"));
  r = hearth({"remote", "remove", "vllm"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "no remote engine 'vllm'")) << r.err;
}

TEST_F(RemoteCliTest, ClearErrors) {
  ASSERT_EQ(hearth({"remote", "add", "r1", "--url", "http://a/v1"}).exit_code, 0);
  CommandResult r = hearth({"remote", "add", "r1", "--url", "http://b/v1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "remote engine 'r1' already exists")) << r.err;
  r = hearth({"remote", "add", "r2", "--url", "http://b/v1", "--user", "nobody"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "no user 'nobody'")) << r.err;
  for (const char* url : {"ftp://b/v1", "b:8000/v1", "http://", "http:///v1", "http://a b/v1"}) {
    r = hearth({"remote", "add", "r3", "--url", url});
    EXPECT_EQ(r.exit_code, 2) << url;
    EXPECT_TRUE(contains(r.err, "--url")) << url << ": " << r.err;
  }
  r = hearth({"remote", "add", "two words", "--url", "http://b/v1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "remote engine name")) << r.err;
  r = hearth({"remote", "list"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_FALSE(contains(r.out, "r2")) << r.out;
  EXPECT_FALSE(contains(r.out, "r3")) << r.out;
}

}  // namespace
}  // namespace hearth
