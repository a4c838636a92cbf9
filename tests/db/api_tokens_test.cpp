// Users' listing and removal, and API tokens, on both backends.
#include <set>

#include "core/sha256.h"
#include "db/internal.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

using test::BackendTest;

class ApiTokensTest : public BackendTest {};
HEARTH_DB_BACKENDS(ApiTokensTest);

// Every value in one column of api_tokens, read raw (to see what is really stored).
std::vector<std::string> raw_column(const Database& db, const std::string& column) {
  return detail::with_session(*db.impl(), "test read", [&](soci::session& sql) {
    std::vector<std::string> out(100);
    sql << "SELECT " + column + " FROM api_tokens ORDER BY id", soci::into(out);
    return out;
  });
}

TEST_P(ApiTokensTest, UsersListCountAndRemove) {
  Database db = open();
  Users users(db);
  EXPECT_EQ(users.count_named(), 0);
  users.create("local", "", "");
  EXPECT_EQ(users.count_named(), 0);  // the implicit local user does not count
  User ada = users.create("ada", "", "");
  users.create("grace", "", "");
  EXPECT_EQ(users.count_named(), 2);
  auto all = users.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].username, "local");
  EXPECT_EQ(all[2].username, "grace");

  ApiTokens(db).create(ada.id, "laptop");
  EXPECT_TRUE(users.remove(ada.id));
  EXPECT_FALSE(users.remove(ada.id));
  EXPECT_EQ(users.count_named(), 1);
  EXPECT_TRUE(ApiTokens(db).list().empty());  // tokens go with their user
}

TEST_P(ApiTokensTest, CreateFindAndList) {
  std::int64_t user = make_user();
  Database db = open();
  ApiTokens tokens(db);
  Timestamp before = now();
  CreatedApiToken made = tokens.create(user, "laptop");
  const std::string& plain = made.plaintext;
  ASSERT_EQ(plain.size(), 50u);  // "hearth_" + 43 base64url characters
  EXPECT_TRUE(plain.starts_with("hearth_"));
  EXPECT_EQ(plain.find_first_not_of(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", 7),
            std::string::npos);
  EXPECT_EQ(made.token.prefix, plain.substr(0, 12));
  EXPECT_EQ(made.token.name, "laptop");
  EXPECT_EQ(made.token.user_id, user);
  EXPECT_GE(made.token.created_at, before);
  EXPECT_FALSE(made.token.last_used_at.has_value());
  EXPECT_FALSE(made.token.revoked());

  auto found = tokens.find_by_plaintext(plain);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, made.token.id);
  EXPECT_EQ(found->created_at, made.token.created_at);
  EXPECT_FALSE(tokens.find_by_plaintext(plain + "x").has_value());
  EXPECT_FALSE(tokens.find_by_plaintext(made.token.prefix).has_value());
  EXPECT_FALSE(tokens.find_by_plaintext("").has_value());
  EXPECT_FALSE(tokens.find_by_plaintext(sha256_hex(plain)).has_value());  // the hash is no key

  // Every token differs; listing is per user or everyone's, oldest first.
  std::int64_t other = make_user("grace");
  std::set<std::string> seen{plain};
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(seen.insert(tokens.create(other, "").plaintext).second);
  EXPECT_EQ(tokens.list(user).size(), 1u);
  EXPECT_EQ(tokens.list(other).size(), 5u);
  auto all = tokens.list();
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all.front().id, made.token.id);
  EXPECT_DB_ERROR(tokens.create(user + 1000, "x"), ErrorKind::not_found);
}

TEST_P(ApiTokensTest, OnlyTheHashIsStored) {
  std::int64_t user = make_user();
  Database db = open();
  CreatedApiToken made = ApiTokens(db).create(user, "ci");
  auto hashes = raw_column(db, "token_hash");
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_EQ(hashes[0], sha256_hex(made.plaintext));
  for (const char* column : {"name", "prefix", "token_hash"})
    for (const auto& value : raw_column(db, column))
      EXPECT_EQ(value.find(made.plaintext), std::string::npos) << column;
}

TEST_P(ApiTokensTest, TouchRecordsTheLastUse) {
  std::int64_t user = make_user();
  Database db = open();
  ApiTokens tokens(db);
  ApiToken t = tokens.create(user, "").token;
  Timestamp before = now();
  tokens.touch(t.id);
  auto after = tokens.find(t.id);
  ASSERT_TRUE(after && after->last_used_at);
  EXPECT_GE(*after->last_used_at, before);
  EXPECT_DB_ERROR(tokens.touch(t.id + 1000), ErrorKind::not_found);
}

TEST_P(ApiTokensTest, RevokedTokensAreNotFound) {
  std::int64_t user = make_user();
  Database db = open();
  ApiTokens tokens(db);
  CreatedApiToken a = tokens.create(user, "a");
  CreatedApiToken b = tokens.create(user, "b");
  CreatedApiToken c = tokens.create(user, "c");

  ApiTokens::Revoked first = tokens.revoke(std::to_string(a.token.id));  // by id
  EXPECT_TRUE(first.changed);
  EXPECT_TRUE(first.token.revoked());
  EXPECT_EQ(first.token.id, a.token.id);
  EXPECT_FALSE(tokens.find_by_plaintext(a.plaintext).has_value());
  EXPECT_TRUE(tokens.find_by_plaintext(b.plaintext).has_value());
  // Revoking again changes nothing, not even the time.
  ApiTokens::Revoked again = tokens.revoke(std::to_string(a.token.id));
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.token.revoked_at, first.token.revoked_at);

  EXPECT_TRUE(tokens.revoke(b.token.prefix).token.revoked());  // by prefix
  EXPECT_FALSE(tokens.find_by_plaintext(b.plaintext).has_value());
  EXPECT_TRUE(tokens.revoke(c.plaintext).token.revoked());  // by the whole token
  EXPECT_FALSE(tokens.find_by_plaintext(c.plaintext).has_value());
  EXPECT_EQ(tokens.list(user).size(), 3u);  // revoked tokens stay listed

  EXPECT_DB_ERROR(tokens.revoke("99999"), ErrorKind::not_found);
  EXPECT_DB_ERROR(tokens.revoke("hearth_zzzzz"), ErrorKind::not_found);
  EXPECT_DB_ERROR(tokens.revoke("hearth_"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(tokens.revoke("laptop"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(tokens.revoke(""), ErrorKind::invalid_input);
}

TEST_P(ApiTokensTest, RevokeCanBeLimitedToOneUser) {
  std::int64_t ada = make_user("ada");
  std::int64_t grace = make_user("grace");
  Database db = open();
  ApiTokens tokens(db);
  CreatedApiToken t = tokens.create(ada, "");
  EXPECT_DB_ERROR(tokens.revoke(std::to_string(t.token.id), grace), ErrorKind::not_found);
  EXPECT_DB_ERROR(tokens.revoke(t.token.prefix, grace), ErrorKind::not_found);
  EXPECT_TRUE(tokens.find_by_plaintext(t.plaintext).has_value());
  EXPECT_TRUE(tokens.revoke(t.token.prefix, ada).changed);
}

TEST_P(ApiTokensTest, ASharedPrefixIsAmbiguousUntilOnlyOneIsLive) {
  std::int64_t user = make_user();
  Database db = open();
  ApiTokens tokens(db);
  ApiToken a = tokens.create(user, "").token;
  ApiToken b = tokens.create(user, "").token;
  // Prefixes collide rarely by chance; plant one.
  test::raw_sql(db, "UPDATE api_tokens SET prefix = '" + a.prefix + "'");
  EXPECT_DB_ERROR(tokens.revoke(a.prefix), ErrorKind::conflict);
  tokens.revoke(std::to_string(b.id));
  ApiTokens::Revoked r = tokens.revoke(a.prefix);
  EXPECT_EQ(r.token.id, a.id);
  EXPECT_TRUE(r.changed);
  // Once all are revoked, the prefix names one of them again (nothing changes).
  EXPECT_FALSE(tokens.revoke(a.prefix).changed);
}

}  // namespace
}  // namespace hearth::db
