// Pulls through the API cannot read the server's files or probe its network (pull_guard.h,
// store/url_policy.h): the real `hearth serve`, a named user with a token, and loopback file
// servers that count the connections they accept. Every refused address is refused before a
// connection: literal private addresses are never contacted (the check precedes the socket), and
// loopback ones are asserted by the file server's connection count.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using hearth::test::http;
using hearth::test::HttpOptions;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;
namespace json = boost::json;
using hearth::format_json;
using hearth::test::Env;
using hearth::test::json_from;

constexpr const char* kSecret = "SECRET-MARKER-7c1d0e";

using hearth::test::contains;

using hearth::test::token_for;

class PullGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(served());
    std::ofstream(served() / "secret.gguf") << "root:x:0:0:" << kSecret << "\n";
    files = std::make_unique<hearth::test::HttpFileServer>(served());
  }
  fs::path home() const { return temp.path() / "home"; }
  fs::path served() const { return temp.path() / "served"; }
  Env env() const { return {{"HEARTH_HOME", home().string()}, {"HEARTH_LOG", "warn"}}; }

  // Starts the server with HEARTH_ALLOW_PRIVATE_URLS as given, and a user "mallory" with a token.
  void start(const std::string& allow_private) {
    token = token_for(env(), "mallory");
    ASSERT_FALSE(token.empty());
    server = std::make_unique<ServerProcess>(home(), std::vector<std::string>{},
                                             Env{{"HEARTH_ALLOW_PRIVATE_URLS", allow_private}});
    ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
  }
  HttpResult post(const std::string& path, const json::value& body) const {
    HttpOptions options;
    options.headers = {"Authorization: Bearer " + token};
    const std::string text = format_json(body);
    return http("POST", server->url(path), &text, options);
  }
  HttpResult get(const std::string& path) const {
    HttpOptions options;
    options.headers = {"Authorization: Bearer " + token};
    return http("GET", server->url(path), nullptr, options);
  }
  // What a pull answers must not leak the server's files or internals.
  void expect_nothing_leaked(const std::string& body) const {
    EXPECT_FALSE(contains(body, kSecret)) << body;
    EXPECT_FALSE(contains(body, "root")) << body;  // not even the 4 bytes a GGUF error quotes
    EXPECT_FALSE(contains(body, home().string())) << body;
    EXPECT_FALSE(contains(body, "sha256-")) << body;  // a blob's file name
  }
  // Polls a personal-model row until it leaves pending/downloading; its status object.
  json::value wait_row(const std::string& id) const {
    json::value status;
    for (int i = 0; i < 500; ++i) {
      status = json_from(get("/api/personal-models/" + id + "/status").body);
      if (hearth::test::has_key(status, "status") &&
          (status.at("status") == json::value("installed") ||
           status.at("status") == json::value("failed")))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status;
  }
  std::string on_files(const std::string& host, const std::string& file) const {
    return "http://" + host + ":" + std::to_string(files->port()) + "/" + file;
  }

  hearth::test::TempDir temp;
  std::unique_ptr<hearth::test::HttpFileServer> files;
  std::unique_ptr<ServerProcess> server;
  std::string token;
};

TEST_F(PullGuard, UrlsOfEveryNonPublicAddressClassAreRefusedWithoutAConnection) {
  start("0");
  std::vector<std::string> urls = {"http://10.0.0.1/m.gguf",
                                   "http://172.16.0.1/m.gguf",
                                   "http://192.168.1.1/m.gguf",
                                   "http://169.254.169.254/latest/meta-data/x.gguf",
                                   "http://100.64.0.1/m.gguf",
                                   "http://0.0.0.0/m.gguf",
                                   "http://224.0.0.1/m.gguf",
                                   "http://[fd00::1]/m.gguf",
                                   "http://[::ffff:10.0.0.1]/m.gguf",
                                   "https://[fe80::1]/m.gguf",
                                   on_files("127.0.0.1", "secret.gguf"),
                                   on_files("localhost", "secret.gguf"),
                                   on_files("[::ffff:127.0.0.1]", "secret.gguf"),
                                   on_files("[::1]", "secret.gguf")};
  for (const auto& url : urls) {
    for (bool stream : {false, true}) {
      const HttpResult r = post("/api/pull", {{"model", url}, {"stream", stream}});
      EXPECT_EQ(r.status, 400) << url << " " << r.body;
      EXPECT_TRUE(contains(r.body, "is not a public address")) << url << " " << r.body;
      expect_nothing_leaked(r.body);
    }
  }
  // The dashboard's download route runs the pull in the background: its row fails the same way.
  const HttpResult r =
      post("/api/personal-models/download", {{"model_id", on_files("localhost", "secret.gguf")}});
  ASSERT_EQ(r.status, 202) << r.body;
  const json::value status =
      wait_row(std::to_string(json_from(r.body).at("id").to_number<std::int64_t>()));
  EXPECT_EQ(status.at("status").as_string(), "failed") << format_json(status);
  EXPECT_TRUE(contains(format_json(status.at("error")), "is not a public address"))
      << format_json(status);
  EXPECT_EQ(files->connections(), 0);
}

// The owner's own `hearth pull` may fetch from loopback; the same URL asked for through the API
// is still refused (not answered from the installed copy).
TEST_F(PullGuard, AUrlTheOwnerPulledIsStillRefusedThroughTheApi) {
  const auto made = hearth::test::run_hearth(
      {"synth", "--shape", "tiny", "--type", "Q8_0", "-o", (served() / "owned.gguf").string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto pulled = hearth::test::run_hearth({"pull", files->url("owned.gguf")}, env());
  ASSERT_EQ(pulled.exit_code, 0) << pulled.out << pulled.err;
  start("0");
  files->reset_counters();
  const HttpResult r = post("/api/pull", {{"model", files->url("owned.gguf")}, {"stream", false}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "is not a public address")) << r.body;
  EXPECT_EQ(files->connections(), 0);
  EXPECT_TRUE(json_from(get("/api/tags").body).at("models").as_array().empty());
}

TEST_F(PullGuard, ServerFilesAndOtherSchemesAreRefused) {
  const fs::path secret_file = temp.path() / "private" / "notes.gguf";
  fs::create_directories(secret_file.parent_path());
  std::ofstream(secret_file) << kSecret;
  start("1");  // even with private URLs allowed, the server's own files stay out of reach
  for (const std::string& ref :
       {std::string("/etc/hostname"), secret_file.string(), std::string("file:///etc/hostname"),
        "file://" + secret_file.string(), std::string("ftp://127.0.0.1/m.gguf"),
        std::string("~/notes.gguf"), std::string(".bashrc"), std::string("NOTES.GGUF")}) {
    HttpResult r = post("/api/pull", {{"model", ref}, {"stream", false}});
    EXPECT_EQ(r.status, 400) << ref << " " << r.body;
    expect_nothing_leaked(r.body);
    r = post("/api/personal-models/download", {{"model_id", ref}});
    EXPECT_EQ(r.status, 400) << ref << " " << r.body;
    expect_nothing_leaked(r.body);
  }
  EXPECT_TRUE(json_from(get("/api/personal-models").body).at("models").as_array().empty());
}

TEST_F(PullGuard, ADownloadThatIsNoGgufIsA4xxThatShowsNoneOfItsBytes) {
  start("1");  // loopback allowed: the file server stands in for an internal service
  HttpResult r = post("/api/pull", {{"model", files->url("secret.gguf")}, {"stream", false}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "not a usable GGUF")) << r.body;
  expect_nothing_leaked(r.body);
  EXPECT_GT(files->connections(), 0);  // it was fetched: the answer is what must not show it

  r = post("/api/pull", {{"model", files->url("secret.gguf")}, {"stream", true}});
  EXPECT_TRUE(contains(r.body, "not a usable GGUF")) << r.body;
  expect_nothing_leaked(r.body);

  r = post("/api/personal-models/download", {{"model_id", files->url("secret.gguf")}});
  ASSERT_EQ(r.status, 202) << r.body;
  const json::value status =
      wait_row(std::to_string(json_from(r.body).at("id").to_number<std::int64_t>()));
  EXPECT_EQ(status.at("status").as_string(), "failed") << format_json(status);
  expect_nothing_leaked(format_json(status));
  expect_nothing_leaked(get("/api/personal-models").body);
}

// The implicit local user (no token, no named user yet) may import files, but what an import of
// a non-GGUF file answers quotes none of it either.
TEST(PullGuardLocal, ImportErrorsQuoteNoBytes) {
  hearth::test::TempDir temp;
  const fs::path file = temp.path() / "notes.gguf";
  std::ofstream(file) << kSecret;
  ServerProcess server(temp.path() / "home");
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const std::string body = format_json(json::value{{"model", file.string()}, {"stream", false}});
  const HttpResult r = http("POST", server.url("/api/pull"), &body);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_TRUE(contains(r.body, "not a usable GGUF")) << r.body;
  EXPECT_FALSE(contains(r.body, std::string(kSecret).substr(0, 4))) << r.body;  // "SECR"
}

}  // namespace
