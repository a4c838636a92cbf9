// For the load and fault tests: plain TCP connections to a loopback server, driven byte by byte
// (idle connections, a client that sends its headers slowly, one that never reads).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <string_view>

namespace hearth::test {

class RawSocket {
 public:
  // Connects to 127.0.0.1:`port`; `receive_buffer` > 0 shrinks the kernel's receive buffer first
  // (a client that stops reading then fills it quickly). valid() says whether it connected.
  explicit RawSocket(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    if (receive_buffer > 0)
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
  }
  ~RawSocket() { close(); }
  RawSocket(RawSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool valid() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  // Everything, or false when the peer is gone.
  bool send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Whether the peer closed its end (EOF or reset) within `wait`; data that arrives is read and
  // appended to `received`.
  bool closed_by_peer(std::chrono::milliseconds wait, std::string* received = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
      if (n > 0 && received != nullptr) received->append(buf, static_cast<size_t>(n));
    }
  }
  // Reads until what arrived contains `marker`, the peer closes or `wait` passes; what arrived.
  std::string read_until(std::string_view marker, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::string out;
    while (out.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline)
      if (closed_by_peer(std::chrono::milliseconds(20), &out)) break;
    return out;
  }
  // Reads until the peer closes or `wait` passes; what arrived.
  std::string read_all(std::chrono::milliseconds wait) {
    std::string out;
    closed_by_peer(wait, &out);
    return out;
  }

 private:
  int fd_ = -1;
};

}  // namespace hearth::test
