// Failed authentications are limited per client address, through the real `hearth serve` on
// loopback: the server sees each connection's address, one address that keeps sending wrong
// tokens is answered 429 with Retry-After, while its good token, and every other address, go on
// as before. Loopback counts as an address like any other; 127.0.0.2 is a second one.
#include <curl/curl.h>
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "server/server_process.h"
#include "support/test_support.h"

namespace hearth {
namespace {

struct Answer {
  long status = 0;
  std::string retry_after;  // the Retry-After header; "" when absent
  std::string body;
};

std::size_t keep_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<Answer*>(out)->body.append(data, size * n);
  return size * n;
}

std::size_t keep_header(char* data, std::size_t size, std::size_t n, void* out) {
  std::string line(data, size * n);
  std::string name = line.substr(0, line.find(':'));
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name == "retry-after" && line.find(':') != std::string::npos) {
    std::string value = line.substr(line.find(':') + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    static_cast<Answer*>(out)->retry_after = value;
  }
  return size * n;
}

// GET `url` with `token`, the connection made from the local address `from`.
Answer get(const std::string& url, const std::string& token, const std::string& from) {
  Answer answer;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20'000L);
  curl_easy_setopt(curl, CURLOPT_INTERFACE, ("host!" + from).c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, keep_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer);
  const std::string authorization = "Authorization: Bearer " + token;
  curl_slist* headers = curl_slist_append(nullptr, authorization.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode code = curl_easy_perform(curl);
  EXPECT_EQ(code, CURLE_OK) << curl_easy_strerror(code) << " (from " << from << ")";
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return answer;
}

TEST(AuthLimit, WrongTokensFromOneAddressGet429AndOtherAddressesDoNot) {
  test::TempDir home;
  const test::Env env = {{"HEARTH_HOME", home.path().string()},
                         {"HEARTH_AUTH_FAILURES", "3"},
                         {"HEARTH_AUTH_WINDOW", "60"}};
  const std::string good = test::token_for(env, "ada");
  ASSERT_FALSE(good.empty());
  test::ServerProcess server(home.path(), {}, env);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const std::string url = server.url("/api/tags");
  const std::string wrong = "hearth_" + std::string(43, 'A');

  for (int i = 0; i < 3; ++i) {
    const Answer a = get(url, wrong, "127.0.0.1");
    EXPECT_EQ(a.status, 401) << i << ": " << a.body;
    EXPECT_EQ(a.retry_after, "");
  }
  Answer a = get(url, wrong, "127.0.0.1");
  EXPECT_EQ(a.status, 429) << a.body;
  ASSERT_FALSE(a.retry_after.empty());
  const int wait = std::stoi(a.retry_after);
  EXPECT_GE(wait, 1);
  EXPECT_LE(wait, 60);
  EXPECT_NE(a.body.find("too many failed authentications"), std::string::npos) << a.body;
  // OpenAI clients read the error in their own shape.
  a = get(server.url("/v1/models"), wrong, "127.0.0.1");
  EXPECT_EQ(a.status, 429) << a.body;
  EXPECT_NE(a.body.find("\"message\""), std::string::npos) << a.body;

  // The good token still works from the failing address.
  EXPECT_EQ(get(url, good, "127.0.0.1").status, 200);
  // Another address is counted apart: its wrong tokens are plain 401s, its good ones work.
  EXPECT_EQ(get(url, wrong, "127.0.0.2").status, 401);
  EXPECT_EQ(get(url, good, "127.0.0.2").status, 200);
}

// The limit and its window are settings of the configuration table.
TEST(AuthLimit, SettingsAreListedByHelpConfig) {
  const auto r = test::run_hearth({"help", "config"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"HEARTH_AUTH_FAILURES", "--auth-failures", "HEARTH_AUTH_WINDOW", "--auth-window"})
    EXPECT_NE(r.out.find(name), std::string::npos) << name << "\n" << r.out;
}

}  // namespace
}  // namespace hearth
