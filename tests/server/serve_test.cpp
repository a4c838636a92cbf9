// End to end: the real `hearth serve` in a child process, driven over HTTP with libcurl.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::json_from;

using hearth::test::http;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

TEST(ServeEndToEnd, RoutesLimitsAndShutdown) {
  hearth::test::TempDir home;
  ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();

  HttpResult r = http("GET", server.url("/"));
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hearth is running");

  r = http("HEAD", server.url("/"));
  EXPECT_EQ(r.code, CURLE_OK);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");

  r = http("GET", server.url("/api/version"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json_from(r.body).at("version").as_string(), HEARTH_VERSION);

  r = http("GET", server.url("/api/tags"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_from(r.body), json_from(R"({"models":[]})"));

  r = http("GET", server.url("/v1/models"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_from(r.body), json_from(R"({"object":"list","data":[]})"));

  r = http("GET", server.url("/api/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json_from(r.body).at("error").is_string());

  r = http("GET", server.url("/v1/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json_from(r.body).at_pointer("/error/message").is_string());

  const std::string big(9u << 20, 'x');
  r = http("POST", server.url("/api/generate"), &big);
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(json_from(r.body).at("error").as_string().find("limit"), std::string::npos);

  // The server survived all of it.
  r = http("GET", server.url("/"));
  EXPECT_EQ(r.status, 200);

  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(5)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(ServeEndToEnd, SigintWithAnIdleKeepAliveConnectionExitsPromptly) {
  hearth::test::TempDir home;
  ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  // One curl handle keeps its connection open between requests.
  CURL* curl = curl_easy_init();
  std::string body;
  const std::string url = server.url("/api/version");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  ASSERT_EQ(curl_easy_perform(curl), CURLE_OK);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGINT, std::chrono::seconds(5)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  curl_easy_cleanup(curl);
}

TEST(ServeEndToEnd, ServesHttpsWithACertificateAndKey) {
  hearth::test::TempDir home;
  const auto cert = home.path() / "cert.pem";
  const auto key = home.path() / "key.pem";
  const std::string make_cert = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout '" +
                                key.string() + "' -out '" + cert.string() + "' 2>/dev/null";
  ASSERT_EQ(std::system(make_cert.c_str()), 0) << "openssl could not make a test certificate";
  ServerProcess server(home.path(), {"--tls-cert", cert.string(), "--tls-key", key.string()});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  EXPECT_NE(server.output().find("https://"), std::string::npos) << server.output();

  HttpResult r = http("GET", server.url("/api/version", "https"));
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_from(r.body).at("version").as_string(), HEARTH_VERSION);
  // Plain HTTP to the TLS port gets no HTTP answer, and the server carries on.
  r = http("GET", server.url("/api/version"));
  EXPECT_NE(r.status, 200);
  r = http("GET", server.url("/", "https"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(5)), 0);
}

TEST(ServeEndToEnd, MissingTlsKeyIsAClearError) {
  hearth::test::TempDir home;
  const auto result = hearth::test::run_hearth(
      {"serve", "--host", "127.0.0.1:0", "--tls-cert", (home.path() / "nope.pem").string(), "--tls-key",
       (home.path() / "nope.key").string()},
      {{"HEARTH_HOME", home.path().string()}});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("TLS certificate"), std::string::npos) << result.err;
}

}  // namespace
