// End to end through the real `hearth serve`: a user's remote trainer settings
// (PUT/GET/DELETE /api/training/remote). The API key is sealed under HEARTH_HOME/secrets/remote.key
// (mode 0600), never answered, never in the database (audit log included) in the clear; a key
// file others may read is refused; only http(s) base URLs, and no private address unless the owner
// allows it.
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "server/chat_client.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace json = boost::json;
using test::ChatClient;
using test::Env;
using test::HttpResult;
using test::json_from;

std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(RemoteSettingsEndToEnd, KeyIsSealedAndNeverShown) {
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}};
  const std::string token = test::token_for(env, "alice");
  const std::string other_token = test::token_for(env, "bob");
  ASSERT_FALSE(token.empty());
  test::ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const ChatClient alice(server, token), bob(server, other_token);
  const std::string key = "sk-remote-secret-7f3a9c";

  // Nothing set yet.
  json::value got = alice.get("/api/training/remote");
  EXPECT_FALSE(got.at("api_key_set").as_bool()) << got;
  EXPECT_TRUE(got.at("base_url").is_null()) << got;

  // Only http(s), and a key is required.
  for (const char* bad : {"ftp://example.com/v1", "example.com/v1", "http://", "file:///etc"}) {
    const json::value body{{"base_url", bad}, {"api_key", key}};
    EXPECT_EQ(alice.call("PUT", "/api/training/remote", &body).status, 400) << bad;
  }
  const json::value no_key{{"base_url", "https://example.com/v1"}};
  EXPECT_EQ(alice.call("PUT", "/api/training/remote", &no_key).status, 400);

  const json::value put{{"base_url", "http://127.0.0.1:9/v1/"}, {"api_key", key}};
  HttpResult r = alice.call("PUT", "/api/training/remote", &put);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(key), std::string::npos) << r.body;
  EXPECT_EQ(json_from(r.body).at("base_url").as_string(), "http://127.0.0.1:9/v1");
  r = alice.call("GET", "/api/training/remote");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find(key), std::string::npos) << r.body;
  EXPECT_TRUE(json_from(r.body).at("api_key_set").as_bool()) << r.body;
  // Per user.
  EXPECT_FALSE(bob.get("/api/training/remote").at("api_key_set").as_bool());

  // The key file: 0600 in a 0700 folder; the database holds the key sealed only.
  const auto key_file = home.path() / "secrets" / "remote.key";
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(key_file.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  EXPECT_EQ(std::filesystem::file_size(key_file), 32u);
  std::string stored;
  for (const auto& e : std::filesystem::directory_iterator(home.path()))
    if (e.path().filename().string().rfind("hearth.db", 0) == 0) stored += file_text(e.path());
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(stored.find(key), std::string::npos);
  EXPECT_NE(stored.find("http://127.0.0.1:9/v1"), std::string::npos);  // the table is there

  // A key file others may read is not used.
  ASSERT_EQ(::chmod(key_file.c_str(), 0644), 0);
  r = alice.call("PUT", "/api/training/remote", &put);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("chmod 600"), std::string::npos) << r.body;
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  EXPECT_EQ(alice.call("PUT", "/api/training/remote", &put).status, 200);

  // Removed.
  r = alice.call("DELETE", "/api/training/remote");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(json_from(r.body).at("deleted").as_bool());
  EXPECT_FALSE(alice.get("/api/training/remote").at("api_key_set").as_bool());
  EXPECT_FALSE(
      json_from(alice.call("DELETE", "/api/training/remote").body).at("deleted").as_bool());

  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(20)), 0);
  EXPECT_EQ(server.output().find(key), std::string::npos) << "the key was printed";
}

TEST(RemoteSettingsEndToEnd, PrivateAddressesNeedTheOwnersConsent) {
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}};
  const std::string token = test::token_for(env, "alice");
  test::ServerProcess server(home.path(), {}, {{"HEARTH_ALLOW_PRIVATE_URLS", "0"}});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const ChatClient alice(server, token);
  for (const char* url : {"http://127.0.0.1:8080/v1", "http://10.1.2.3/v1", "http://[::1]:80/v1"}) {
    const json::value put{{"base_url", url}, {"api_key", "k"}};
    const HttpResult r = alice.call("PUT", "/api/training/remote", &put);
    EXPECT_EQ(r.status, 400) << url << ": " << r.body;
    EXPECT_NE(r.body.find("HEARTH_ALLOW_PRIVATE_URLS"), std::string::npos) << r.body;
  }
  EXPECT_FALSE(alice.get("/api/training/remote").at("api_key_set").as_bool());
}

}  // namespace
}  // namespace hearth
