// See remote_engines_breaker.h.
#include "server/remote_engines_breaker.h"

namespace hearth::server {

using std::chrono::steady_clock;

CircuitBreaker::CircuitBreaker(int threshold, std::chrono::milliseconds cooldown, Clock clock)
    : threshold_(threshold < 1 ? 1 : threshold), cooldown_(cooldown), clock_(std::move(clock)) {}

steady_clock::time_point CircuitBreaker::now() const {
  return clock_ ? clock_() : steady_clock::now();
}

CircuitBreaker::State CircuitBreaker::state_locked(steady_clock::time_point now) const {
  if (!open_) return State::closed;
  return now - opened_at_ >= cooldown_ ? State::half_open : State::open;
}

bool CircuitBreaker::allow() {
  const auto t = now();
  std::lock_guard lock(mutex_);
  switch (state_locked(t)) {
    case State::closed:
      return true;
    case State::open:
      return false;
    case State::half_open:
      if (trial_since_ && t - *trial_since_ < cooldown_) return false;
      trial_since_ = t;
      return true;
  }
  return false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  const auto t = now();
  std::lock_guard lock(mutex_);
  return state_locked(t);
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

std::optional<CircuitBreaker::State> CircuitBreaker::success() {
  std::lock_guard lock(mutex_);
  failures_ = 0;
  trial_since_.reset();
  if (!open_) return std::nullopt;
  open_ = false;
  return State::closed;
}

std::optional<CircuitBreaker::State> CircuitBreaker::failure() {
  const auto t = now();
  std::lock_guard lock(mutex_);
  ++failures_;
  if (open_) {
    // A failed trial opens it for another cooldown; a request that began before it opened and
    // fails now changes nothing.
    if (state_locked(t) != State::half_open) return std::nullopt;
    opened_at_ = t;
    trial_since_.reset();
    return State::open;
  }
  if (failures_ < threshold_) return std::nullopt;
  open_ = true;
  opened_at_ = t;
  trial_since_.reset();
  return State::open;
}

std::string_view to_string(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::closed:
      return "closed";
    case CircuitBreaker::State::open:
      return "open";
    case CircuitBreaker::State::half_open:
      return "half-open";
  }
  return "closed";
}

}  // namespace hearth::server
