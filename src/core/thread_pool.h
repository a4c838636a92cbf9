// A fixed set of worker threads for compute work (matrix products, attention) and background
// jobs. Two ways in:
//   parallel_for(n, fn): runs fn(i) for i in [0, n), spread over the workers and the calling
//     thread, and returns when all are done. The first exception thrown by fn is rethrown.
//   submit(fn): runs fn on a worker; the future carries its completion or exception.
// A pool is safe to use from several threads; parallel_for called from inside a worker runs
// inline (no nested fan-out, so no deadlock).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
 public:
  // n_threads == 0 picks the hardware concurrency.
  explicit ThreadPool(size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  std::future<void> submit(std::function<void()> fn);
  void parallel_for(size_t n, const std::function<void(size_t)>& fn);

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace hearth
