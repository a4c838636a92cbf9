// See server_process.h.
#include "server/server_process.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

#include "support/test_support.h"

extern char** environ;

namespace hearth::test {

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

ServerProcess::ServerProcess(const std::filesystem::path& home, std::vector<std::string> extra_args,
                             std::vector<std::pair<std::string, std::string>> extra_env,
                             int port) {
  port_ = port > 0 ? port : free_port();
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  posix_spawn_file_actions_addclose(&actions, out[1]);
  const std::string bin = hearth_binary().string();
  const std::string host = "127.0.0.1:" + std::to_string(port_);
  std::vector<std::string> args{bin, "serve", "--host", host};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings{"HEARTH_HOME=" + home.string(), "HEARTH_LOG=warn"};
  // Tests pull from loopback file servers through the API (see server_process.h).
  bool private_urls_given = false;
  for (const auto& [k, v] : extra_env) private_urls_given |= k == "HEARTH_ALLOW_PRIVATE_URLS";
  if (!private_urls_given) env_strings.push_back("HEARTH_ALLOW_PRIVATE_URLS=1");
  for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string s(*e);
    bool overridden = s.rfind("HEARTH_HOME=", 0) == 0 || s.rfind("HEARTH_LOG=", 0) == 0 ||
                      s.rfind("HEARTH_HOST=", 0) == 0 ||
                      s.rfind("HEARTH_ALLOW_PRIVATE_URLS=", 0) == 0;
    for (const auto& [k, v] : extra_env) overridden |= s.rfind(k + "=", 0) == 0;
    if (!overridden) env_strings.push_back(s);
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

ServerProcess::~ServerProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool ServerProcess::wait_listening(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[512];
      const ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) return false;
      output_.append(buf, static_cast<size_t>(n));
      if (output_.find("listening on") != std::string::npos) {
        // Let the rest of the banner arrive too (it is printed in one go).
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (::poll(&p, 1, 0) > 0) {
          const ssize_t m = ::read(out_fd_, buf, sizeof buf);
          if (m > 0) output_.append(buf, static_cast<size_t>(m));
        }
        return true;
      }
    }
  }
  return false;
}

int ServerProcess::stop(int signal, std::chrono::milliseconds timeout) {
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

namespace {

struct Sink {
  std::string* body;
  const HttpOptions* options;
};

size_t collect(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  const std::string piece(data, size * n);
  sink->body->append(piece);
  if (sink->options->on_data && !sink->options->on_data(piece)) return 0;  // abort the transfer
  return size * n;
}

}  // namespace

HttpResult http(const std::string& method, const std::string& url, const std::string* body,
                const HttpOptions& options) {
  HttpResult result;
  Sink sink{&result.body, &options};
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, options.timeout_ms);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);  // the TLS test's certificate is self-signed
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_slist* headers = nullptr;
  for (const auto& h : options.headers) headers = curl_slist_append(headers, h.c_str());
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  char* type = nullptr;
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  if (type != nullptr) result.content_type = type;
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return result;
}

std::string token_for(const Env& env, const std::string& user) {
  EXPECT_EQ(run_hearth({"user", "add", user}, env).exit_code, 0);
  const auto created = run_hearth({"token", "create", "--user", user}, env);
  const auto at = created.out.find("hearth_");
  if (at == std::string::npos) return {};
  return created.out.substr(at, created.out.find_first_of(" \n", at) - at);
}

}  // namespace hearth::test
