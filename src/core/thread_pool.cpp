#include "core/thread_pool.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace hearth {
namespace {

// True on team threads always, and on a caller while its parallel_for runs: a parallel_for
// started there runs inline.
thread_local bool inside_parallel_for = false;

constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kCountMask = kClosed - 1;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

using Clock = std::chrono::steady_clock;

// Sleeps while *word == expected (Linux futex; std::atomic::wait of GCC 12 can miss wake-ups).
void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr,
          nullptr, 0);
}
void futex_wake_all(std::atomic<uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr,
          nullptr, 0);
}
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));

int read_int_file(const std::string& path) {
  std::ifstream in(path);
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

}  // namespace

size_t physical_core_count() {
  static const size_t count = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::set<std::pair<int, int>> cores;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        const int package = read_int_file(base + "physical_package_id");
        const int core = read_int_file(base + "core_id");
        // Without topology information every logical CPU counts as a core.
        cores.emplace(package, core < 0 ? 1'000'000 + cpu : core);
      }
    }
    if (!cores.empty()) return cores.size();
    return static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency()));
  }();
  return count;
}

ThreadPool::ThreadPool(size_t n_threads) {
  if (n_threads == 0) n_threads = physical_core_count();
  team_.reserve(n_threads - 1);
  for (size_t i = 1; i < n_threads; ++i) team_.emplace_back([this] { team_loop(); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  epoch_.fetch_add(1);
  futex_wake_all(epoch_);
  for (auto& t : team_) t.join();
  {
    std::lock_guard lock(bg_mutex_);
    bg_stopping_ = true;
  }
  bg_wake_.notify_all();
  if (background_.joinable()) background_.join();
}

void ThreadPool::drain() {
  const size_t n = job_n_;
  for (size_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
    try {
      job_call_(job_fn_, i);
    } catch (...) {
      std::lock_guard lock(error_mutex_);
      if (!error_) error_ = std::current_exception();
      next_.store(n, std::memory_order_relaxed);  // stop handing out work
    }
  }
}

void ThreadPool::team_loop() {
  inside_parallel_for = true;
  uint32_t seen = 0;  // epoch_ starts at 0, whenever this thread gets to run
  for (;;) {
    uint32_t e;
    auto spin_start = Clock::now();
    int spins = 0;
    while ((e = epoch_.load(std::memory_order_acquire)) == seen) {
      cpu_relax();
      if (++spins < 64) continue;
      spins = 0;
      if (Clock::now() - spin_start < std::chrono::microseconds(kSpinMicros)) continue;
      // Sleep until the next job. A caller bumps epoch_ before it reads sleepers_, so either it
      // sees this thread as a sleeper and notifies, or wait() sees the new epoch and returns.
      sleepers_.fetch_add(1);
      futex_wait(epoch_, seen);
      sleepers_.fetch_sub(1);
      spin_start = Clock::now();
    }
    seen = e;
    if (stopping_.load()) return;
    // Join the job of epoch e unless the caller has already closed it.
    uint64_t v = join_.load(std::memory_order_acquire);
    bool joined = false;
    while ((v >> 32) == e && !(v & kClosed)) {
      if (join_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;
    drain();
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::run(size_t n, ItemFn call, const void* fn) {
  if (n == 0) return;
  if (n == 1 || team_.empty() || inside_parallel_for) {
    for (size_t i = 0; i < n; ++i) call(fn, i);
    return;
  }
  std::lock_guard call_lock(call_mutex_);
  inside_parallel_for = true;
  job_call_ = call;
  job_fn_ = fn;
  job_n_ = n;
  error_ = nullptr;
  next_.store(0, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint32_t e = epoch_.load(std::memory_order_relaxed) + 1;
  join_.store(static_cast<uint64_t>(e) << 32, std::memory_order_release);
  epoch_.store(e);  // publishes the job
  if (sleepers_.load() > 0) futex_wake_all(epoch_);

  drain();

  // Close the job to late team threads, then wait for the ones that joined.
  const uint64_t v = join_.fetch_or(kClosed, std::memory_order_acq_rel);
  const auto joined = static_cast<uint32_t>(v & kCountMask);
  for (int spins = 0; done_.load(std::memory_order_acquire) < joined;) {
    cpu_relax();
    if (++spins > 4096) std::this_thread::yield();  // a helper was preempted mid-item
  }
  inside_parallel_for = false;
  if (error_) {
    std::exception_ptr error = std::exchange(error_, nullptr);
    std::rethrow_exception(error);
  }
}

void ThreadPool::background_loop() {
  for (;;) {
    std::packaged_task<void()> task;
    {
      std::unique_lock lock(bg_mutex_);
      bg_wake_.wait(lock, [this] { return bg_stopping_ || !bg_queue_.empty(); });
      if (bg_queue_.empty()) return;  // stopping and drained
      task = std::move(bg_queue_.front());
      bg_queue_.pop_front();
    }
    task();
  }
}

std::future<void> ThreadPool::submit(std::function<void()> fn) {
  std::packaged_task<void()> task(std::move(fn));
  auto future = task.get_future();
  {
    std::lock_guard lock(bg_mutex_);
    if (!background_.joinable()) background_ = std::thread([this] { background_loop(); });
    bg_queue_.push_back(std::move(task));
  }
  bg_wake_.notify_one();
  return future;
}

}  // namespace hearth
