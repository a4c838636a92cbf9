// End to end: what a web page in the user's browser can and cannot make `hearth serve` do.
// Each request is the curl command line a page's request amounts to (the browser sends the Host
// of the page's URL and its Origin), replayed against the real server.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

namespace json = boost::json;
using hearth::test::json_from;
using hearth::test::ServerProcess;

struct CurlAnswer {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
  std::string raw;
};

// `curl -sS -i ARGS`, split into status, headers and body.
CurlAnswer curl(const std::string& args) {
  const std::string command = "curl -sS -i --noproxy '*' " + args + " 2>&1";
  CurlAnswer a;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return a;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) a.raw.append(buf, n);
  ::pclose(pipe);
  const auto end = a.raw.find("\r\n\r\n");
  if (a.raw.rfind("HTTP/", 0) != 0 || end == std::string::npos) return a;
  a.status = std::stoi(a.raw.substr(a.raw.find(' ') + 1, 3));
  a.headers = a.raw.substr(0, end);
  for (auto& c : a.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.body = a.raw.substr(end + 4);
  return a;
}

std::string error_text(const CurlAnswer& a) {
  const auto body = hearth::parse_json(a.body);
  if (!body || !hearth::test::has_key(*body, "error")) return {};
  const json::value& error = body->at("error");
  return error.is_string() ? json::value_to<std::string>(error)
                           : json::value_to<std::string>(error.at("message"));
}

class BrowserGuard : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {},
             std::vector<std::pair<std::string, std::string>> env = {}) {
    server_ = std::make_unique<ServerProcess>(home_.path(), std::move(args), std::move(env));
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }
  std::string url(const std::string& path) const { return "'" + server_->url(path) + "'"; }
  std::string own_host() const {
    const std::string u = server_->url("");
    return u.substr(u.find("://") + 3);
  }

  hearth::test::TempDir home_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(BrowserGuard, RebindingPageCannotPullALocalFile) {
  start();
  // A page on evil.example whose name now resolves to 127.0.0.1 posts a "simple" request (no
  // preflight) asking the server to import a file from this machine.
  const CurlAnswer a = curl("-H 'Host: evil.example' -H 'Origin: http://evil.example' "
                            "-H 'Content-Type: text/plain' " +
                            url("/api/pull") + " -d '{\"model\":\"/etc/hostname\"}'");
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_NE(error_text(a).find("Host 'evil.example'"), std::string::npos) << a.raw;
  EXPECT_NE(error_text(a).find("HEARTH_ALLOWED_HOSTS"), std::string::npos) << a.raw;
  EXPECT_EQ(a.headers.find("access-control-allow-origin"), std::string::npos) << a.raw;
  const CurlAnswer tags = curl(url("/api/tags"));
  EXPECT_EQ(json_from(tags.body), json_from(R"({"models":[]})")) << tags.raw;
}

TEST_F(BrowserGuard, ForeignHostAloneIsRefused) {
  start();
  CurlAnswer a = curl("-H 'Host: evil.example:11435' " + url("/api/tags"));
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_NE(error_text(a).find("evil.example"), std::string::npos) << a.raw;
  // The OpenAI family answers in its own error shape.
  a = curl("-H 'Host: evil.example' " + url("/v1/models"));
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_NE(error_text(a).find("HEARTH_ALLOWED_HOSTS"), std::string::npos) << a.raw;
}

TEST_F(BrowserGuard, ForeignOriginIsRefusedWithOurOwnHost) {
  start();
  CurlAnswer a = curl("-H 'Origin: http://evil.example' -H 'Content-Type: text/plain' " +
                      url("/api/pull") + " -d '{\"model\":\"/etc/hostname\"}'");
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_NE(error_text(a).find("Origin 'http://evil.example'"), std::string::npos) << a.raw;
  EXPECT_NE(error_text(a).find("HEARTH_ORIGINS"), std::string::npos) << a.raw;
  // Its preflight is refused too, without CORS headers.
  a = curl("-X OPTIONS -H 'Origin: http://evil.example' -H 'Access-Control-Request-Method: POST' " +
           url("/api/chat"));
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_EQ(a.headers.find("access-control-allow"), std::string::npos) << a.raw;
  // A page that is not localhost though it names it, and a sandboxed frame (Origin: null).
  a = curl("-H 'Origin: http://localhost.evil.example' " + url("/api/version"));
  EXPECT_EQ(a.status, 403) << a.raw;
  a = curl("-H 'Origin: null' " + url("/api/version"));
  EXPECT_EQ(a.status, 403) << a.raw;
}

TEST_F(BrowserGuard, RequestsWithoutOriginKeepWorking) {
  start();
  CurlAnswer a = curl(url("/api/version"));
  EXPECT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(a.headers.find("access-control-allow-origin"), std::string::npos) << a.raw;
  a = curl("-H 'Host: localhost' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  a = curl("-H 'Host: [::1]:8080' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
}

TEST_F(BrowserGuard, LocalPagesAndAppsGetCorsHeaders) {
  start();
  CurlAnswer a = curl("-H 'Origin: http://localhost:3000' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-origin: http://localhost:3000"), std::string::npos) << a.raw;
  EXPECT_NE(a.headers.find("vary: origin"), std::string::npos) << a.raw;
  a = curl("-H 'Origin: vscode-webview://abc' " + url("/v1/models"));
  EXPECT_EQ(a.status, 200) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-origin: vscode-webview://abc"), std::string::npos) << a.raw;
  // Streamed answers (a pull's progress, here its error) carry them too.
  a = curl("-H 'Origin: http://localhost:3000' " + url("/api/pull") +
           " -d '{\"model\":\"/nonexistent/model.gguf\"}'");
  EXPECT_NE(a.status, 0) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-origin: http://localhost:3000"), std::string::npos) << a.raw;
  // The server's own origin: the web app served from this server.
  a = curl("-H 'Origin: http://" + own_host() + "' " + url("/api/version"));
  EXPECT_EQ(a.status, 200) << a.raw;
  // A preflight from an allowed page answers 204 and names what the page may send.
  a = curl("-X OPTIONS -H 'Origin: https://127.0.0.1:5173' -H 'Access-Control-Request-Method: POST' "
           "-H 'Access-Control-Request-Headers: content-type, x-hearth-store, user-agent, cookie' " +
           url("/v1/chat/completions"));
  EXPECT_EQ(a.status, 204) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-origin: https://127.0.0.1:5173"), std::string::npos) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-methods: "), std::string::npos) << a.raw;
  // What the (allowed) page's client asks for, never cookies.
  EXPECT_NE(a.headers.find("access-control-allow-headers: authorization, content-type, x-hearth-store, user-agent\r"),
            std::string::npos) << a.raw;
  EXPECT_EQ(a.headers.find("cookie"), std::string::npos) << a.raw;
}

TEST_F(BrowserGuard, OwnerAllowsMoreOriginsAndHosts) {
  start({"--allowed-hosts", "myhost"}, {{"HEARTH_ORIGINS", "https://app.example, null"}});
  CurlAnswer a = curl("-H 'Origin: https://app.example' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  EXPECT_NE(a.headers.find("access-control-allow-origin: https://app.example"), std::string::npos) << a.raw;
  a = curl("-H 'Origin: null' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  a = curl("-H 'Host: myhost:11435' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  // A page served under that name is this server's own origin.
  a = curl("-H 'Host: myhost:8080' -H 'Origin: http://myhost:8080' " + url("/api/tags"));
  EXPECT_EQ(a.status, 200) << a.raw;
  a = curl("-H 'Origin: https://other.example' " + url("/api/tags"));
  EXPECT_EQ(a.status, 403) << a.raw;
  a = curl("-H 'Host: otherhost' " + url("/api/tags"));
  EXPECT_EQ(a.status, 403) << a.raw;
}

TEST(BrowserGuardConfig, AMalformedOriginStopsTheServerWithTheSettingsName) {
  hearth::test::TempDir home;
  const auto r = hearth::test::run_hearth({"serve", "--host", "127.0.0.1:0", "--origins", "app.example"},
                                          {{"HEARTH_HOME", home.path().string()}});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("HEARTH_ORIGINS"), std::string::npos) << r.err;
}

}  // namespace
