// Authenticator: when a token is needed, what each kind of Authorization header gets, and the
// local user. SQLite in a temporary folder.
#include "server/auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/config.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  AuthTest() : db(db::Database::open("sqlite://" + (dir.path() / "hearth.db").string())) {}

  // Runs `fn`, expecting Error(unauthorized); returns its message.
  template <class F>
  std::string unauthorized(F&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::unauthorized) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "expected Error(unauthorized)";
    return {};
  }

  std::int64_t add_user(const std::string& name) { return db::Users(db).create(name, "", "").id; }

  test::TempDir dir;
  db::Database db;
};

TEST_F(AuthTest, ModesParse) {
  EXPECT_EQ(auth_mode_from("auto"), AuthMode::automatic);
  EXPECT_EQ(auth_mode_from("required"), AuthMode::required);
  try {
    auth_mode_from("yes");
    ADD_FAILURE() << "accepted 'yes'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("auto, required"), std::string::npos) << e.what();
  }
}

TEST_F(AuthTest, LocalUserIsCreatedOnceAndReused) {
  std::int64_t id = library::local_user_id(db);
  EXPECT_GT(id, 0);
  EXPECT_EQ(library::local_user_id(db), id);
  EXPECT_EQ(db::Users(db).find_by_name("local")->id, id);
  EXPECT_EQ(db::Users(db).count_named(), 0);
}

TEST_F(AuthTest, OnLoopbackWithoutUsersEveryoneIsLocal) {
  Authenticator auth(db, AuthMode::automatic, false);
  EXPECT_FALSE(auth.required());
  std::int64_t local = library::local_user_id(db);
  for (const char* header :
       {"", "Bearer sk-anything", "Basic dXNlcjpwYXNz", "Bearer hearth_nope"}) {
    Caller c = auth.authenticate(header);
    EXPECT_EQ(c.user_id, local) << header;
    EXPECT_EQ(c.username, "local") << header;
  }
}

TEST_F(AuthTest, RequiredModeAndNonLoopbackNeedAToken) {
  for (auto [mode, beyond] : {std::pair{AuthMode::required, false}, {AuthMode::automatic, true}}) {
    Authenticator auth(db, mode, beyond);
    EXPECT_TRUE(auth.required());
    std::string message = unauthorized([&] { auth.authenticate(""); });
    EXPECT_NE(message.find("requires an API key"), std::string::npos) << message;
    EXPECT_NE(message.find("Authorization: Bearer <token>"), std::string::npos) << message;
    EXPECT_NE(message.find("hearth token create --user NAME"), std::string::npos) << message;
    message = unauthorized([&] { auth.authenticate("Basic dXNlcjpwYXNz"); });
    EXPECT_NE(message.find("Bearer <token>"), std::string::npos) << message;
    unauthorized([&] { auth.authenticate("Bearer"); });
    unauthorized([&] { auth.authenticate("Bearer a b"); });
    message = unauthorized([&] { auth.authenticate("Bearer hearth_unknown"); });
    EXPECT_EQ(message, "invalid or revoked API key");
  }
}

TEST_F(AuthTest, AValidTokenNamesItsUserAndRecordsItsUse) {
  std::int64_t ada = add_user("ada");
  db::CreatedApiToken t = db::ApiTokens(db).create(ada, "laptop");
  {
    Authenticator auth(db, AuthMode::required, false);
    for (std::string header :
         {"Bearer " + t.plaintext, "bearer  " + t.plaintext + " ", "BEARER\t" + t.plaintext}) {
      Caller c = auth.authenticate(header);
      EXPECT_EQ(c.user_id, ada) << header;
      EXPECT_EQ(c.username, "ada");
    }
  }  // the last use is written in the background, done by the time the Authenticator goes
  auto row = db::ApiTokens(db).find(t.token.id);
  ASSERT_TRUE(row && row->last_used_at);

  // Accepted (as its user) even where no token is needed.
  Authenticator open_auth(db, AuthMode::automatic, false);
  EXPECT_EQ(open_auth.authenticate("Bearer " + t.plaintext).user_id, ada);
}

TEST_F(AuthTest, RevokedTokensAndRemovedUsersAreRefused) {
  std::int64_t ada = add_user("ada");
  db::ApiTokens tokens(db);
  db::CreatedApiToken t = tokens.create(ada, "");
  Authenticator auth(db, AuthMode::required, false);
  EXPECT_EQ(auth.authenticate("Bearer " + t.plaintext).user_id, ada);
  tokens.revoke(t.token.prefix);
  EXPECT_EQ(unauthorized([&] { auth.authenticate("Bearer " + t.plaintext); }),
            "invalid or revoked API key");

  db::CreatedApiToken other = tokens.create(ada, "");
  db::Users(db).remove(ada);
  unauthorized([&] { auth.authenticate("Bearer " + other.plaintext); });
}

TEST_F(AuthTest, AddingAUserTurnsAuthenticationOnWithinASecond) {
  Authenticator auth(db, AuthMode::automatic, false);
  EXPECT_FALSE(auth.required());
  EXPECT_EQ(auth.authenticate("").username, "local");
  add_user("ada");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(auth.required());
  unauthorized([&] { auth.authenticate(""); });
  // The local user does not count as a named user.
  db::Users(db).remove(db::Users(db).find_by_name("ada")->id);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_FALSE(auth.required());
}

TEST(ConstantTimeEqual, EqualOnlyForTheSameBytes) {
  const std::string a(64, 'a');
  std::string first = a, last = a;
  first.front() = 'b';
  last.back() = 'b';
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_TRUE(constant_time_equal(a, std::string(64, 'a')));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal(a, first));
  EXPECT_FALSE(constant_time_equal(a, last));
  EXPECT_FALSE(constant_time_equal(a, a.substr(0, 63)));  // a prefix is not the secret
  EXPECT_FALSE(constant_time_equal("", "x"));
  // Bytes past a NUL count.
  EXPECT_FALSE(constant_time_equal(std::string("ab\0c", 4), std::string("ab\0d", 4)));
}

TEST(FailureLimiter, BlocksAnAddressAfterItsLimitWithinTheWindowOnly) {
  FailureLimiter limiter(3, std::chrono::seconds(60));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.blocked_for("10.0.0.1"), 0) << i;
    limiter.fail("10.0.0.1");
  }
  const int wait = limiter.blocked_for("10.0.0.1");
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  EXPECT_EQ(limiter.blocked_for("10.0.0.2"), 0);  // another address is counted apart
  EXPECT_EQ(limiter.blocked_for(""), 0);          // an unknown address is never limited
  for (int i = 0; i < 10; ++i) limiter.fail("");
  EXPECT_EQ(limiter.blocked_for(""), 0);

  // IPv6 addresses count by their /64.
  limiter.fail("2001:db8::1");
  limiter.fail("2001:db8::2");
  limiter.fail("2001:db8:0:0:ffff::3");
  EXPECT_GE(limiter.blocked_for("2001:db8::99"), 1);
  EXPECT_EQ(limiter.blocked_for("2001:db8:0:1::1"), 0);

  FailureLimiter off(0, std::chrono::seconds(60));  // 0: no limit
  for (int i = 0; i < 100; ++i) off.fail("10.0.0.1");
  EXPECT_EQ(off.blocked_for("10.0.0.1"), 0);

  // The window ends a second after the first failure.
  FailureLimiter brief(2, std::chrono::seconds(1));
  brief.fail("::1");
  brief.fail("::1");
  EXPECT_EQ(brief.blocked_for("::1"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(brief.blocked_for("::1"), 0);
  brief.fail("::1");  // a new window: one failure is not enough
  EXPECT_EQ(brief.blocked_for("::1"), 0);
}

TEST_F(AuthTest, WrongTokensFromOneAddressAreAnswered429ButGoodOnesStillWork) {
  config::set_override("HEARTH_AUTH_FAILURES", "3");
  config::set_override("HEARTH_AUTH_WINDOW", "60");
  Authenticator auth(db, AuthMode::required, false);
  config::set_override("HEARTH_AUTH_FAILURES", "");
  config::set_override("HEARTH_AUTH_WINDOW", "");
  const std::int64_t ada = add_user("ada");
  const std::string good = "Bearer " + db::ApiTokens(db).create(ada, "").plaintext;

  // A missing header is no wrong credential: it is not counted.
  for (int i = 0; i < 5; ++i) unauthorized([&] { auth.authenticate("", "10.0.0.1"); });
  for (int i = 0; i < 3; ++i) unauthorized([&] { auth.authenticate("Bearer hearth_wrong", "10.0.0.1"); });
  for (const char* header : {"Bearer hearth_wrong", "Basic dXNlcjpwYXNz"}) {
    try {
      auth.authenticate(header, "10.0.0.1");
      ADD_FAILURE() << "accepted " << header;
    } catch (const TooManyRequests& e) {
      EXPECT_GE(e.retry_after_s(), 1);
      EXPECT_LE(e.retry_after_s(), 60);
      EXPECT_NE(std::string(e.what()).find("too many failed authentications"), std::string::npos);
    }
  }
  // The user's own token still works from there, and other addresses are untouched.
  EXPECT_EQ(auth.authenticate(good, "10.0.0.1").user_id, ada);
  unauthorized([&] { auth.authenticate("Bearer hearth_wrong", "10.0.0.2"); });
  EXPECT_EQ(auth.authenticate(good, "10.0.0.2").user_id, ada);
  EXPECT_EQ(auth.failures().blocked_for("10.0.0.2"), 0);
}

}  // namespace
}  // namespace hearth::server
