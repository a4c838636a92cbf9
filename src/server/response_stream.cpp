// See response_stream.h.
#include "server/response_stream.h"

#include "core/log.h"

namespace hearth::server {

void ResponseStream::start(int status, std::string content_type, Headers headers) {
  {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
    status_ = status;
    content_type_ = std::move(content_type);
    headers_ = std::move(headers);
  }
  wake();
}

void ResponseStream::write(std::string piece) {
  if (piece.empty() || cancelled()) return;
  bool backlogged = false;
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    pending_ += piece;
    backlogged = pending_.size() > max_backlog;
  }
  if (backlogged) {
    SPDLOG_INFO("a streamed response is {} bytes behind its client: stopped", max_backlog);
    cancel();
  }
  wake();
}

void ResponseStream::finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    if (!started_) {  // a producer that never started: answer with an empty 500, not a hang
      started_ = true;
      status_ = 500;
      content_type_ = "application/json";
      pending_ = R"({"error":"internal error: the response ended before it began"})";
    }
    finished_ = true;
  }
  wake();
}

void ResponseStream::respond(const Response& response) {
  {
    std::lock_guard lock(mutex_);
    if (started_ || finished_) return;
    started_ = true;
    status_ = response.status;
    content_type_ = response.content_type;
    headers_ = response.headers;
    pending_ = response.body;
    finished_ = true;
  }
  wake();
}

bool ResponseStream::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

void ResponseStream::set_waker(std::function<void()> waker) {
  std::lock_guard lock(mutex_);
  waker_ = std::move(waker);
}

ResponseStream::Taken ResponseStream::take() {
  std::lock_guard lock(mutex_);
  Taken t;
  if (!started_) return t;
  if (!head_taken_) {
    head_taken_ = true;
    t.has_head = true;
    t.status = status_;
    t.content_type = content_type_;
    t.headers = headers_;
  }
  t.data = std::move(pending_);
  pending_.clear();
  t.finished = finished_;
  return t;
}

void ResponseStream::cancel() {
  cancelled_->store(true, std::memory_order_release);
  std::lock_guard lock(mutex_);
  pending_.clear();
}

void ResponseStream::wake() {
  std::function<void()> waker;
  {
    std::lock_guard lock(mutex_);
    waker = waker_;
  }
  if (waker) waker();
}

}  // namespace hearth::server
