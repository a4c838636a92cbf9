// `hearth user`, `hearth token` and `hearth audit` through the real binary, on a SQLite database
// in a temporary HEARTH_HOME; the rows they leave are read back through the db module.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "db/db.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using test::CommandResult;

using test::contains;

class AccountsCliTest : public ::testing::Test {
 protected:
  std::string db_url() const { return "sqlite://" + (temp.path() / "accounts.db").string(); }
  CommandResult hearth(const std::vector<std::string>& args) const {
    return test::run_hearth(args, {{"HEARTH_HOME", (temp.path() / "home").string()},
                                   {"HEARTH_DB", db_url()},
                                   {"HEARTH_LOG", "warn"}});
  }
  // The token line of `hearth token create` (the one starting "hearth_").
  static std::string token_in(const std::string& out) {
    std::size_t at = out.find("hearth_");
    if (at == std::string::npos) return {};
    return out.substr(at, out.find('\n', at) - at);
  }

  test::TempDir temp;
};

TEST_F(AccountsCliTest, AddAndListUsers) {
  CommandResult r = hearth({"user", "add", "ada", "--email", "ada@example.com"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Added user ada")) << r.out;
  EXPECT_TRUE(contains(r.out, "hearth token create --user ada")) << r.out;
  ASSERT_EQ(hearth({"user", "add", "grace"}).exit_code, 0);

  r = hearth({"user", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "NAME")) << r.out;
  EXPECT_TRUE(contains(r.out, "ada@example.com")) << r.out;
  EXPECT_TRUE(contains(r.out, "grace")) << r.out;

  db::Database db = db::Database::open(db_url());
  EXPECT_EQ(db::Users(db).count_named(), 2);
}

TEST_F(AccountsCliTest, RefusesReservedDuplicateAndOddNames) {
  CommandResult r = hearth({"user", "add", "local"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "reserved")) << r.err;
  EXPECT_EQ(hearth({"user", "add", "Local"}).exit_code, 2);
  EXPECT_EQ(hearth({"user", "add", "two words"}).exit_code, 2);
  EXPECT_EQ(hearth({"user", "add", ".hidden"}).exit_code, 2);
  ASSERT_EQ(hearth({"user", "add", "ada"}).exit_code, 0);
  r = hearth({"user", "add", "ada"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "user 'ada' already exists")) << r.err;
}

TEST_F(AccountsCliTest, TokensAreShownOnceListedByPrefixAndRevoked) {
  ASSERT_EQ(hearth({"user", "add", "ada"}).exit_code, 0);
  CommandResult r = hearth({"token", "create", "--user", "ada", "--name", "laptop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string token = token_in(r.out);
  ASSERT_EQ(token.size(), 50u) << r.out;
  EXPECT_TRUE(contains(r.out, "cannot be shown again")) << r.out;

  r = hearth({"token", "create", "--user", "ada", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string second = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(r.out, second + "\n");
  EXPECT_EQ(second.find('\n'), std::string::npos) << "more than the token: " << r.out;
  EXPECT_EQ(second.size(), 50u) << r.out;
  EXPECT_TRUE(second.starts_with("hearth_")) << r.out;

  db::Database db = db::Database::open(db_url());
  db::ApiTokens tokens(db);
  auto row = tokens.find_by_plaintext(token);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->name, "laptop");

  r = hearth({"token", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, token.substr(0, 12))) << r.out;
  EXPECT_TRUE(contains(r.out, "laptop")) << r.out;
  EXPECT_FALSE(contains(r.out, token)) << "the list must not show whole tokens";
  EXPECT_EQ(hearth({"token", "list", "--user", "ada"}).exit_code, 0);
  EXPECT_EQ(hearth({"token", "list", "--user", "nobody"}).exit_code, 3);

  r = hearth({"token", "revoke", token.substr(0, 12)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Revoked token")) << r.out;
  EXPECT_FALSE(tokens.find_by_plaintext(token).has_value());
  EXPECT_TRUE(tokens.find_by_plaintext(second).has_value());
  r = hearth({"token", "revoke", std::to_string(row->id)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "already revoked")) << r.out;

  EXPECT_EQ(hearth({"token", "revoke", "999"}).exit_code, 3);
  EXPECT_EQ(hearth({"token", "revoke", "nonsense"}).exit_code, 2);
  r = hearth({"token", "create", "--user", "nobody"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "hearth user add nobody")) << r.err;
}

TEST_F(AccountsCliTest, QuietTokenForTheLocalUserInAFreshHomeIsOneLine) {
  // Nothing has run yet: the database is created and the local user with it, all silently.
  CommandResult r = hearth({"token", "create", "--user", "local", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "more than one line: " << r.out;
  EXPECT_TRUE(r.out.starts_with("hearth_")) << r.out;
  EXPECT_EQ(r.out.size(), 51u) << r.out;
}

TEST_F(AccountsCliTest, AuditRecordsEveryChangeNewestFirst) {
  ASSERT_EQ(hearth({"user", "add", "ada"}).exit_code, 0);
  ASSERT_EQ(hearth({"user", "add", "grace"}).exit_code, 0);
  CommandResult r = hearth({"token", "create", "--user", "ada", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string prefix = r.out.substr(0, 12);
  ASSERT_EQ(hearth({"token", "revoke", prefix}).exit_code, 0);
  ASSERT_EQ(hearth({"token", "revoke", prefix}).exit_code, 0);  // no change, no entry

  r = hearth({"audit", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto all = test::json_from(r.out).as_array();
  ASSERT_EQ(all.size(), 4u) << r.out;
  EXPECT_EQ(all[0].at("action"), "token.revoke");
  EXPECT_EQ(all[0].at("target").as_string(), prefix);
  EXPECT_EQ(all[0].at("user"), "ada");
  EXPECT_EQ(all[1].at("action"), "token.create");
  EXPECT_EQ(all[1].at("detail").at("user"), "ada");
  EXPECT_EQ(all[2].at("action"), "user.add");
  EXPECT_EQ(all[2].at("target"), "grace");
  EXPECT_EQ(all[3].at("target"), "ada");
  // An entry as it is printed: its keys in order, the detail's too, two spaces per level.
  EXPECT_TRUE(contains(r.out, R"(    "action": "user.add",
    "detail": {
      "email": "",
      "via": "cli"
    },
    "id": )"))
      << r.out;

  r = hearth({"audit", "--user", "grace", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::json_from(r.out).as_array().size(), 1u);
  r = hearth({"audit", "--limit", "2", "--json"});
  EXPECT_EQ(test::json_from(r.out).as_array().size(), 2u);

  r = hearth({"audit"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "ACTION")) << r.out;
  EXPECT_TRUE(contains(r.out, "token.revoke")) << r.out;
  EXPECT_EQ(hearth({"audit", "--user", "nobody"}).exit_code, 3);
  EXPECT_NE(hearth({"audit", "--limit", "0"}).exit_code, 0);
}

}  // namespace
}  // namespace hearth
