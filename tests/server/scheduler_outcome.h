// What a scheduler test's request received: every event of its sink, and waits for them. Shared
// by the scheduler tests with real models (scheduler_test.cpp) and without (scheduler_fake_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "server/scheduler.h"

namespace hearth::server {

using namespace std::chrono_literals;

// Everything a sink received, and a wait for the final event.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  std::string text;
  int token_events = 0;
  bool finished = false, failed = false;
  std::string finish_reason, error;
  ErrorKind error_kind = ErrorKind::internal;
  Timings timings;
  int final_events = 0;

  GenerationSink sink() {
    return [this](GenerationEvent&& e) {
      std::lock_guard lock(mu);
      if (e.kind == GenerationEvent::Kind::token) {
        EXPECT_FALSE(finished) << "a token event after the final event";
        text += e.text;
        ++token_events;
        return;
      }
      ++final_events;
      finished = true;
      failed = e.kind == GenerationEvent::Kind::error;
      finish_reason = e.finish_reason;
      error = e.error;
      error_kind = e.error_kind;
      timings = e.timings;
      cv.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds limit = 20s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return finished; });
  }
  bool wait_for_tokens(int n, std::chrono::milliseconds limit = 20s) {
    for (auto until = std::chrono::steady_clock::now() + limit;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(1ms)) {
      std::lock_guard lock(mu);
      if (token_events >= n || finished) return token_events >= n;
    }
    return false;
  }
};

}  // namespace hearth::server
