#include "http_file_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace hearth::test {
namespace {

using Clock = std::chrono::steady_clock;

bool send_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads the request head (up to the blank line); empty when the client went away.
std::string read_head(int fd) {
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return {};
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return {};
    head.append(buffer, static_cast<size_t>(n));
  }
  return head;
}

std::string header_value(const std::string& head, std::string name) {
  std::string lower = head;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  auto at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  at += name.size() + 3;
  auto end = head.find("\r\n", at);
  std::string value = head.substr(at, end - at);
  value.erase(0, value.find_first_not_of(' '));
  return value;
}

// Waits until the client closes the connection (or the server stops).
void hold_until_closed(int fd, const std::atomic<bool>& stopping) {
  char buffer[256];
  while (!stopping) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0 && ::recv(fd, buffer, sizeof buffer, 0) <= 0) return;
  }
}

}  // namespace

HttpFileServer::HttpFileServer(std::filesystem::path root) : root_(std::move(root)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) != 0)
    throw std::runtime_error("test HTTP server: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpFileServer::~HttpFileServer() {
  stopping_ = true;
  acceptor_.join();
  for (auto& t : connections_) t.join();
  ::close(listen_fd_);
}

std::string HttpFileServer::url(std::string_view file) const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/" + std::string(file);
}

void HttpFileServer::set_faults(const ServerFaults& faults) {
  std::lock_guard lock(mutex_);
  faults_ = faults;
  failures_left_ = faults.fail_first_requests;
}

void HttpFileServer::redirect(const std::string& file, const std::string& location) {
  std::lock_guard lock(mutex_);
  redirects_.emplace_back("/" + file, location);
}

void HttpFileServer::reset_counters() {
  body_bytes_sent_ = 0;
  connections_accepted_ = 0;
  requests_ = 0;
  ranged_requests_ = 0;
}

void HttpFileServer::wait_until_idle() {
  while (active_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

ServerFaults HttpFileServer::faults() {
  std::lock_guard lock(mutex_);
  return faults_;
}

void HttpFileServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++connections_accepted_;
    ++active_;
    connections_.emplace_back([this, fd] {
      serve(fd);
      ::close(fd);
      --active_;
    });
  }
}

void HttpFileServer::serve(int fd) {
  std::string head = read_head(fd);
  if (head.empty()) return;
  ++requests_;
  bool is_head = head.starts_with("HEAD ");
  auto path_start = head.find(' ') + 1;
  std::string target = head.substr(path_start, head.find(' ', path_start) - path_start);
  ServerFaults f = faults();
  bool fail_now = false;
  {
    std::lock_guard lock(mutex_);
    if (failures_left_ > 0) {
      --failures_left_;
      fail_now = true;
    }
  }
  auto reply = [&](const std::string& status, const std::string& headers, uint64_t length) {
    std::string text = "HTTP/1.1 " + status + "\r\n" + headers +
                       "Content-Length: " + std::to_string(length) +
                       "\r\nConnection: close\r\n\r\n";
    return send_all(fd, text.data(), text.size());
  };
  if (fail_now) {
    reply("503 Service Unavailable", "", 0);
    return;
  }
  std::string location;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [from, to] : redirects_)
      if (from == target) location = to;
  }
  if (!location.empty()) {
    reply("302 Found", "Location: " + location + "\r\n", 0);
    return;
  }
  auto file = root_ / target.substr(1);
  struct stat st {};
  int file_fd = target.find("..") == std::string::npos ? ::open(file.c_str(), O_RDONLY) : -1;
  if (file_fd < 0 || ::fstat(file_fd, &st) != 0) {
    if (file_fd >= 0) ::close(file_fd);
    reply("404 Not Found", "", 0);
    return;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string headers = "ETag: \"" + std::to_string(size) + "-" +
                        std::to_string(st.st_mtim.tv_sec) + std::to_string(st.st_mtim.tv_nsec) +
                        "\"\r\n";
  if (!f.no_range) headers += "Accept-Ranges: bytes\r\n";
  uint64_t from = 0, to = size == 0 ? 0 : size - 1;
  std::string status = "200 OK";
  std::string range = header_value(head, "range");
  if (!range.empty() && !f.no_range && !f.ignore_range && range.starts_with("bytes=")) {
    ++ranged_requests_;
    auto dash = range.find('-');
    std::string a = range.substr(6, dash - 6), b = range.substr(dash + 1);
    if (a.empty()) {
      from = size - std::min<uint64_t>(size, std::stoull(b));
    } else {
      from = std::stoull(a);
      if (!b.empty()) to = std::min<uint64_t>(std::stoull(b), size - 1);
    }
    if (from >= size || from > to) {
      ::close(file_fd);
      reply("416 Range Not Satisfiable", "Content-Range: bytes */" + std::to_string(size) + "\r\n",
            0);
      return;
    }
    status = "206 Partial Content";
    headers += "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(to) + "/" +
               std::to_string(size) + "\r\n";
  }
  uint64_t length = size == 0 ? 0 : to - from + 1;
  if (!reply(status, headers, length) || is_head) {
    ::close(file_fd);
    return;
  }
  auto started = Clock::now();
  uint64_t sent = 0;
  size_t chunk = 16384;
  if (f.bytes_per_second > 0) chunk = std::clamp<size_t>(f.bytes_per_second / 50, 512, chunk);
  std::vector<char> buffer(chunk);
  while (sent < length && !stopping_) {
    uint64_t limit = std::min({length, f.stall_after_bytes, f.drop_after_bytes});
    if (sent >= limit) {
      if (sent == f.stall_after_bytes) hold_until_closed(fd, stopping_);
      break;
    }
    size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, limit - sent));
    ssize_t got = ::pread(file_fd, buffer.data(), n, static_cast<off_t>(from + sent));
    if (got <= 0) break;
    n = static_cast<size_t>(got);
    if (f.corrupt_offset && *f.corrupt_offset >= from + sent && *f.corrupt_offset < from + sent + n)
      buffer[*f.corrupt_offset - from - sent] ^= 0x5a;
    if (!send_all(fd, buffer.data(), n)) break;
    sent += n;
    body_bytes_sent_ += n;
    if (f.bytes_per_second > 0) {
      auto due = started + std::chrono::microseconds(sent * 1'000'000 / f.bytes_per_second);
      while (Clock::now() < due && !stopping_)
        std::this_thread::sleep_for(
            std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(10)));
    }
  }
  ::close(file_fd);
}

}  // namespace hearth::test
