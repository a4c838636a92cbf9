// A response produced by another thread and written by the connection that asked for it.
//
// Producer (a scheduler loop, a pull thread; any thread):
//   auto stream = std::make_shared<ResponseStream>();
//   ... hand `stream` to the worker, return Response{.stream = stream} from the handler ...
//   worker: stream->start(200, "application/x-ndjson");   // the head, exactly once
//           stream->write("{...}\n");                      // any number of body pieces
//           stream->finish();                              // the end, exactly once
//   or, when the whole answer is known at once (an error before anything was streamed):
//           stream->respond(error_response(...));
// A producer checks cancelled() between pieces of work and stops early when it is true (the
// client went away or the server is stopping). Writing after cancel() is harmless (dropped).
//
// Consumer (the connection's coroutine): set_waker() once, then take() whatever is available
// each time it is woken; when take() gives finished, the response is complete. A response whose
// whole body arrived before the head was written goes out with Content-Length; otherwise it is
// sent with chunked transfer encoding as the pieces arrive.
//
// A consumer that falls more than max_backlog bytes behind (its client stopped reading and the
// socket's buffers are full) cancels the stream: the producer stops, freeing its decode slot,
// instead of buffering a whole generation nobody reads.
//
// Thread-safe: one producer and one consumer may use it at the same time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "server/server.h"

namespace hearth::server {

class ResponseStream {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  static constexpr std::size_t max_backlog = 4u << 20;

  // ---- producer ----
  // The status line and headers; a second call is ignored.
  void start(int status, std::string content_type, Headers headers = {});
  void write(std::string piece);
  void finish();
  // start(r.status, r.content_type, r.headers) + write(r.body) + finish().
  void respond(const Response& response);
  bool cancelled() const { return cancelled_->load(std::memory_order_acquire); }
  // The flag behind cancelled(), for workers that take a cancel flag (GenerationRequest).
  const std::shared_ptr<std::atomic<bool>>& cancel_flag() const { return cancelled_; }
  bool started() const;

  // ---- consumer ----
  struct Taken {
    bool has_head = false;  // true once, in the first take() after start()
    int status = 0;
    std::string content_type;
    Headers headers;
    std::string data;       // body bytes written since the last take()
    bool finished = false;  // finish() was called and everything is in `data` by now
  };
  // Called after every start/write/finish, on the producer's thread (it must only post a
  // wake-up to the consumer's executor). Set before handing the stream to a producer, or the
  // consumer must take() once after setting it.
  void set_waker(std::function<void()> waker);
  Taken take();
  // The client is gone or the server stops: the producer should stop; later writes are dropped.
  void cancel();

 private:
  void wake();

  mutable std::mutex mutex_;
  std::function<void()> waker_;
  bool started_ = false;
  bool head_taken_ = false;
  bool finished_ = false;
  int status_ = 0;
  std::string content_type_;
  Headers headers_;
  std::string pending_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace hearth::server
