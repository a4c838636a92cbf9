// Authenticator: when a token is needed, what each kind of Authorization header gets, and the
// local user. SQLite in a temporary folder.
#include "server/auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

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

}  // namespace
}  // namespace hearth::server
