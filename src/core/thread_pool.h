// A fixed team of threads for compute work (matrix products, attention) plus a background
// thread for jobs. Two ways in:
//   parallel_for(n, fn): runs fn(i) for i in [0, n) on the team and the calling thread, and
//     returns when all are done. The first exception thrown by fn is rethrown.
//   submit(fn): runs fn on the background thread (started at the first submit); the future
//     carries its completion or exception.
//
// parallel_for is built for many small calls (a decode step makes hundreds): the team is created
// once; between calls its threads spin for a short while (kSpinMicros) and then sleep, so a call
// that follows closely costs no system call. A call allocates nothing and creates no thread: fn
// is passed by reference (any callable, no std::function), indices are claimed from one shared
// atomic counter (uneven items balance themselves), and the caller takes part. A team thread
// that has not woken up by the time the caller has finished all items is not waited for.
//
// size() is the number of threads that compute in parallel_for, the caller included, so
// ThreadPool(1) runs everything on the caller and ThreadPool(2) uses one helper thread.
// A pool is safe to use from several threads (their parallel_for calls take turns); parallel_for
// called from inside fn runs inline (no nested fan-out, so no deadlock).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace hearth {

// Physical cores this process may run on (hyper-threads of one core count once); at least 1.
size_t physical_core_count();

class ThreadPool {
 public:
  // Threads computing in parallel_for, the caller included; 0 picks physical_core_count().
  explicit ThreadPool(size_t n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return team_.size() + 1; }

  std::future<void> submit(std::function<void()> fn);

  template <typename Fn>
  void parallel_for(size_t n, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run(n, &call_item<F>, static_cast<const void*>(&fn));
  }

  // How long an idle team thread spins before it sleeps.
  static constexpr int kSpinMicros = 300;

 private:
  using ItemFn = void (*)(const void* fn, size_t i);
  template <typename F>
  static void call_item(const void* fn, size_t i) {
    (*static_cast<F*>(const_cast<void*>(fn)))(i);
  }

  void run(size_t n, ItemFn call, const void* fn);
  void drain();  // claims and runs items of the current job until none are left
  void team_loop();
  void background_loop();

  // The current job; written by the caller only while no team thread has joined it.
  ItemFn job_call_ = nullptr;
  const void* job_fn_ = nullptr;
  size_t job_n_ = 0;
  alignas(64) std::atomic<size_t> next_{0};  // next item to claim
  // (epoch << 32) | closed bit | number of team threads that joined the job of that epoch.
  alignas(64) std::atomic<uint64_t> join_{0};
  std::atomic<uint32_t> done_{0};  // joined team threads that finished
  alignas(64) std::atomic<uint32_t> epoch_{0};  // bumped to publish a job
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::vector<std::thread> team_;

  // Background jobs.
  std::mutex bg_mutex_;
  std::condition_variable bg_wake_;
  std::deque<std::packaged_task<void()>> bg_queue_;
  bool bg_stopping_ = false;
  std::thread background_;
};

}  // namespace hearth
