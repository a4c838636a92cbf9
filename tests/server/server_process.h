// For end-to-end server tests: the real `hearth serve` in a child process, and libcurl calls to it.
#pragma once

#include <curl/curl.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace hearth::test {

// A port the kernel says is free right now.
int free_port();

// `hearth serve` with HEARTH_HOME in a temp dir; killed (if still running) when destroyed.
// HEARTH_ALLOW_PRIVATE_URLS=1 unless `extra_env` names it: tests pull models through the API
// from loopback file servers, which a server otherwise refuses (store/url_policy.h).
class ServerProcess {
 public:
  // `port` 0: a free one; else that one (a test restarting a server where its clients expect it).
  explicit ServerProcess(const std::filesystem::path& home, std::vector<std::string> extra_args = {},
                         std::vector<std::pair<std::string, std::string>> extra_env = {},
                         int port = 0);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for the "listening" line on stdout.
  bool wait_listening(std::chrono::milliseconds timeout);
  // Sends `signal` and waits up to `timeout` for the exit; the exit code, or -1.
  int stop(int signal, std::chrono::milliseconds timeout);

  std::string url(const std::string& path, const char* scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  const std::string& output() const { return output_; }
  int port() const { return port_; }

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

struct HttpOptions {
  std::vector<std::string> headers;  // "Authorization: Bearer ..."
  long timeout_ms = 20'000;
  // Sees each received piece of the body; returning false drops the connection (a client that
  // goes away mid-stream).
  std::function<bool(const std::string& piece)> on_data;
};

HttpResult http(const std::string& method, const std::string& url, const std::string* body = nullptr,
                const HttpOptions& options = {});

using Env = std::vector<std::pair<std::string, std::string>>;

// Adds `user` with the CLI and creates a token for them; "" when that failed (the test fails).
std::string token_for(const Env& env, const std::string& user);

}  // namespace hearth::test
