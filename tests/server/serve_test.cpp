// End to end: the real `hearth serve` in a child process, driven over HTTP with libcurl.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/test_support.h"

extern char** environ;

namespace {

using nlohmann::json;

// A port the kernel says is free right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// `hearth serve` with HEARTH_HOME in a temp dir; killed (if still running) when destroyed.
class ServerProcess {
 public:
  explicit ServerProcess(const std::filesystem::path& home) {
    port_ = free_port();
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, out[1]);
    const std::string bin = hearth::test::hearth_binary().string();
    const std::string host = "127.0.0.1:" + std::to_string(port_);
    std::vector<std::string> args{bin, "serve", "--host", host};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings{"HEARTH_HOME=" + home.string(), "HEARTH_LOG=warn"};
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string s(*e);
      if (s.rfind("HEARTH_HOME=", 0) != 0 && s.rfind("HEARTH_LOG=", 0) != 0 &&
          s.rfind("HEARTH_HOST=", 0) != 0)
        env_strings.push_back(s);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    out_fd_ = out[0];
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
  }

  // Waits for the "listening" line on stdout.
  bool wait_listening(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[512];
        const ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n <= 0) return false;
        output_.append(buf, static_cast<size_t>(n));
        if (output_.find("listening on") != std::string::npos) return true;
      }
    }
    return false;
  }

  // Sends `signal` and waits up to `timeout` for the exit; the exit code, or -1.
  int stop(int signal, std::chrono::milliseconds timeout) {
    ::kill(pid_, signal);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  std::string output_;
};

struct HttpResult {
  long status = 0;
  std::string body;
  std::string content_type;
  CURLcode code = CURLE_OK;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

HttpResult http(const std::string& method, const std::string& url, const std::string* body = nullptr) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_slist* headers = nullptr;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) result.content_type = type;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
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
  EXPECT_EQ(json::parse(r.body)["version"], HEARTH_VERSION);

  r = http("GET", server.url("/api/tags"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"models":[]})"));

  r = http("GET", server.url("/v1/models"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"object":"list","data":[]})"));

  r = http("GET", server.url("/api/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json::parse(r.body)["error"].is_string());

  r = http("GET", server.url("/v1/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json::parse(r.body)["error"]["message"].is_string());

  const std::string big(9u << 20, 'x');
  r = http("POST", server.url("/api/generate"), &big);
  ASSERT_EQ(r.code, CURLE_OK) << curl_easy_strerror(r.code);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("limit"), std::string::npos);

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

}  // namespace
