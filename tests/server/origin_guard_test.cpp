// The Host and Origin rules on their own (the real server replays them in origin_e2e_test.cpp).
#include "server/origin_guard.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace {

using hearth::server::make_origin_policy;
using hearth::server::OriginPolicy;
using hearth::server::Request;
using hearth::server::screen_request;

Request req(std::string host, std::string origin = "", std::string method = "GET") {
  Request r;
  r.method = std::move(method);
  r.target = "/api/tags";
  if (!host.empty()) r.headers.emplace_back("host", std::move(host));
  if (!origin.empty()) r.headers.emplace_back("origin", std::move(origin));
  return r;
}

int status(const OriginPolicy& p, const Request& r) {
  const auto answer = screen_request(p, r);
  return answer ? answer->status : 0;  // 0: goes on to the routes
}

TEST(OriginGuard, LoopbackListenerAcceptsOnlyItsOwnHostNames) {
  const OriginPolicy p = make_origin_policy("127.0.0.1", false, "", "");
  EXPECT_TRUE(p.check_host);
  for (const char* ok : {"127.0.0.1:11435", "localhost", "LOCALHOST:1", "localhost.", "[::1]:80", ""})
    EXPECT_EQ(status(p, req(ok)), 0) << ok;
  for (const char* bad : {"evil.example", "evil.example:11435", "127.0.0.1.evil.example", "localhost:x",
                          "sub.localhost", "[::1", "a b"})
    EXPECT_EQ(status(p, req(bad)), 403) << bad;
}

TEST(OriginGuard, BoundAddressAndConfiguredHostsAreAccepted) {
  OriginPolicy p = make_origin_policy("::1", false, "myhost, Box.lan:8080", "");
  EXPECT_TRUE(p.check_host);
  EXPECT_EQ(status(p, req("[::1]:11435")), 0);
  EXPECT_EQ(status(p, req("myhost:11435")), 0);
  EXPECT_EQ(status(p, req("box.lan")), 0);
  EXPECT_EQ(status(p, req("other")), 403);
  p = make_origin_policy("127.0.0.1", false, "*", "");
  EXPECT_EQ(status(p, req("anything.example")), 0);
}

TEST(OriginGuard, ListenersBeyondLoopbackSkipTheHostCheckButNotTheOriginCheck) {
  const OriginPolicy p = make_origin_policy("0.0.0.0", false, "", "");
  EXPECT_FALSE(p.check_host);
  EXPECT_EQ(status(p, req("mybox.lan:11435")), 0);
  EXPECT_EQ(status(p, req("mybox.lan:11435", "http://evil.example")), 403);
  // The page the server itself serves, under whatever name it was reached.
  EXPECT_EQ(status(p, req("mybox.lan:11435", "http://mybox.lan:11435")), 0);
  EXPECT_EQ(status(p, req("mybox.lan:11435", "https://mybox.lan:11435")), 403);
  EXPECT_FALSE(make_origin_policy("192.168.1.5", false, "", "").check_host);
  EXPECT_TRUE(make_origin_policy("localhost", false, "", "").check_host);
  EXPECT_TRUE(make_origin_policy("127.0.0.2", false, "", "").check_host);
}

TEST(OriginGuard, DefaultOriginsAreLocalPagesAndDesktopShells) {
  const OriginPolicy p = make_origin_policy("127.0.0.1", false, "", "");
  for (const char* ok : {"http://localhost", "http://localhost:3000", "https://127.0.0.1:5173",
                         "http://[::1]:8080", "app://-", "app://obsidian.md", "file://",
                         "tauri://localhost", "vscode-webview://abc123", "HTTP://LOCALHOST:3000"})
    EXPECT_EQ(status(p, req("127.0.0.1:11435", ok)), 0) << ok;
  for (const char* bad : {"http://evil.example", "null", "http://localhost.evil.example",
                          "http://localhost:3000.evil.example", "http://localhost:3000/path",
                          "ftp://localhost", "http://evil.example@localhost", "localhost", "*"})
    EXPECT_EQ(status(p, req("127.0.0.1:11435", bad)), 403) << bad;
}

TEST(OriginGuard, ConfiguredOriginsWithWildcards) {
  const OriginPolicy p =
      make_origin_policy("127.0.0.1", true, "", "https://app.example/, http://*.lan:*, null");
  EXPECT_EQ(p.scheme, "https");
  for (const char* ok : {"https://app.example", "http://box.lan:8080", "http://a.b.lan", "null"})
    EXPECT_EQ(status(p, req("", ok)), 0) << ok;
  for (const char* bad : {"http://app.example", "https://app.example:444", "http://lan", "http://evillan"})
    EXPECT_EQ(status(p, req("", bad)), 403) << bad;
  EXPECT_EQ(status(make_origin_policy("127.0.0.1", false, "", "*"), req("", "https://any.example")), 0);
}

TEST(OriginGuard, MalformedSettingsNameTheSetting) {
  try {
    make_origin_policy("127.0.0.1", false, "", "app.example");
    FAIL() << "accepted an origin without a scheme";
  } catch (const hearth::Error& e) {
    EXPECT_EQ(e.kind(), hearth::ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("HEARTH_ORIGINS"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_origin_policy("127.0.0.1", false, "", "https://a.example/path"), hearth::Error);
  EXPECT_THROW(make_origin_policy("127.0.0.1", false, "bad host", ""), hearth::Error);
}

TEST(OriginGuard, PreflightsAndCorsHeaders) {
  const OriginPolicy p = make_origin_policy("127.0.0.1", false, "", "");
  Request pre = req("127.0.0.1:1", "http://localhost:3000", "OPTIONS");
  pre.headers.emplace_back("access-control-request-method", "POST");
  pre.headers.emplace_back("access-control-request-headers",
                           "Authorization,X-Hearth-Store, X-Stainless-OS, Cookie, User-Agent, "
                           "OpenAI-Organization, Bad(Name");
  const auto answer = screen_request(p, pre);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 204);
  std::string allow_headers, allow_origin;
  for (const auto& [k, v] : answer->headers) {
    if (k == "Access-Control-Allow-Headers") allow_headers = v;
    if (k == "Access-Control-Allow-Origin") allow_origin = v;
  }
  EXPECT_EQ(allow_origin, "http://localhost:3000");
  // Every well-formed name a client asks for (clients add their own), never cookies.
  EXPECT_EQ(allow_headers,
            "Authorization, Content-Type, X-Hearth-Store, X-Stainless-OS, User-Agent, OpenAI-Organization");
  // OPTIONS that is not a preflight goes to the routes (405 there).
  EXPECT_EQ(status(p, req("127.0.0.1:1", "http://localhost:3000", "OPTIONS")), 0);
  EXPECT_EQ(hearth::server::cors_headers(p, req("127.0.0.1:1")).size(), 0u);
  EXPECT_EQ(hearth::server::cors_headers(p, req("127.0.0.1:1", "http://evil.example")).size(), 0u);
  EXPECT_GE(hearth::server::cors_headers(p, req("127.0.0.1:1", "app://x")).size(), 2u);
}

}  // namespace
