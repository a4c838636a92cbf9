// The circuit breaker of one remote engine (remote_engines.h), apart from the network so that it
// can be tested with a clock of the test's own.
//
//   closed     requests and health checks go; `threshold` failures in a row (chats and checks
//              alike; a success resets the count) open it
//   open       nothing goes until `cooldown` has passed since it opened
//   half-open  (open, cooldown over) one trial goes (the next health check or chat): its success
//              closes the breaker, its failure opens it again for another cooldown. A trial that
//              reports nothing within a cooldown (its route was never used) frees the slot.
// Thread-safe. success() and failure() return the state they moved to when it changed, so the
// caller can log transitions.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>

namespace hearth::server {

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  CircuitBreaker(int threshold, std::chrono::milliseconds cooldown, Clock clock = {});

  // May a request or check go now? Closed: yes. Open within its cooldown: no. Half-open: yes for
  // one caller (the trial), no for the others until the trial reports.
  bool allow();
  State state() const;  // open past its cooldown reads half_open
  int consecutive_failures() const;

  std::optional<State> success();
  std::optional<State> failure();

 private:
  std::chrono::steady_clock::time_point now() const;
  State state_locked(std::chrono::steady_clock::time_point now) const;

  const int threshold_;
  const std::chrono::milliseconds cooldown_;
  Clock clock_;
  mutable std::mutex mutex_;
  bool open_ = false;
  int failures_ = 0;
  std::chrono::steady_clock::time_point opened_at_{};
  std::optional<std::chrono::steady_clock::time_point> trial_since_{};
};

std::string_view to_string(CircuitBreaker::State s);  // "closed", "open", "half-open"

}  // namespace hearth::server
