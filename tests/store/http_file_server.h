// A small HTTP/1.1 file server on 127.0.0.1 for the store's download tests: serves the files of
// one folder (GET and HEAD, Range → 206 with Content-Range), one thread per connection, one
// request per connection (Connection: close). Faults can be switched on to test the downloader:
// no Range support, stalls, dropped connections, a corrupted byte, 503s. It counts requests and
// body bytes sent so tests can assert how much was fetched, and the connections it accepted (a
// test that must see no connection at all asserts connections() == 0). A path can be made a
// redirect (302 with a Location) for the tests of the downloader's address checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace hearth::test {

inline constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();

struct ServerFaults {
  bool no_range = false;      // ignore Range: 200 with the whole file, no Accept-Ranges
  bool ignore_range = false;  // advertise Accept-Ranges, yet answer a Range with 200 and all
  uint64_t stall_after_bytes = kNever;  // per response: then send nothing, keep the connection
  uint64_t drop_after_bytes = kNever;   // per response: then close the connection
  std::optional<uint64_t> corrupt_offset =
      std::nullopt;               // this byte of the file is sent with its bits flipped
  int fail_first_requests = 0;    // answer 503 to this many requests (HEAD included)
  uint64_t bytes_per_second = 0;  // per response; 0: as fast as the socket takes it
};

class HttpFileServer {
 public:
  explicit HttpFileServer(std::filesystem::path root);
  ~HttpFileServer();
  HttpFileServer(const HttpFileServer&) = delete;
  HttpFileServer& operator=(const HttpFileServer&) = delete;

  std::string url(std::string_view file) const;  // http://127.0.0.1:<port>/<file>
  int port() const { return port_; }
  void set_faults(const ServerFaults& faults);  // applies to responses that start afterwards
  // GET/HEAD of /<file> answers "302 Found" with this Location.
  void redirect(const std::string& file, const std::string& location);

  uint64_t body_bytes_sent() const { return body_bytes_sent_; }
  int requests() const { return requests_; }
  int connections() const { return connections_accepted_; }
  int ranged_requests() const { return ranged_requests_; }
  void reset_counters();
  // Waits until no response is being sent (e.g. to a client that was just killed), so that
  // counters reset afterwards count only new requests.
  void wait_until_idle();

 private:
  void accept_loop();
  void serve(int fd);
  ServerFaults faults();

  std::filesystem::path root_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> body_bytes_sent_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> connections_accepted_{0};
  std::atomic<int> ranged_requests_{0};
  std::atomic<int> active_{0};
  std::mutex mutex_;
  ServerFaults faults_;
  std::vector<std::pair<std::string, std::string>> redirects_;  // ("/file", location)
  int failures_left_ = 0;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace hearth::test
