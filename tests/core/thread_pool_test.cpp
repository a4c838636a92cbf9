#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

namespace hearth {

TEST(ThreadPool, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> hits(10'000);
  pool.parallel_for(hits.size(), [&](size_t i) { hits[i].fetch_add(1); });
  for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i;
}

TEST(ThreadPool, ParallelForRethrowsTheFirstError) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(100,
                                 [](size_t i) {
                                   if (i == 42) throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> sum{0};
  pool.parallel_for(10, [&](size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum.load(), 45);
}

TEST(ThreadPool, NestedParallelForRunsInline) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.parallel_for(4, [&](size_t) { pool.parallel_for(5, [&](size_t) { ++count; }); });
  EXPECT_EQ(count.load(), 20);
}

TEST(ThreadPool, SubmitCarriesResultsAndExceptions) {
  ThreadPool pool(1);
  int value = 0;
  pool.submit([&] { value = 7; }).get();
  EXPECT_EQ(value, 7);
  auto failing = pool.submit([] { throw std::logic_error("bad"); });
  EXPECT_THROW(failing.get(), std::logic_error);
}

}  // namespace hearth

// ---- The fixed team: sizes, many small calls, no allocation, concurrency ----

namespace hearth {
std::atomic<bool> count_allocations{false};
std::atomic<long> allocations{0};
}  // namespace hearth

// Counts heap allocations while count_allocations is set (this test binary only).
void* operator new(size_t size) {
  if (hearth::count_allocations.load(std::memory_order_relaxed)) hearth::allocations.fetch_add(1);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, size_t) noexcept {
  std::free(p);
}

namespace hearth {

TEST(ThreadPool, SizeCountsTheCaller) {
  EXPECT_EQ(ThreadPool(1).size(), 1u);
  EXPECT_EQ(ThreadPool(3).size(), 3u);
  EXPECT_GE(physical_core_count(), 1u);
  EXPECT_EQ(ThreadPool(0).size(), physical_core_count());
}

TEST(ThreadPool, OneThreadRunsOnTheCaller) {
  ThreadPool pool(1);
  const auto me = std::this_thread::get_id();
  bool all_here = true;
  pool.parallel_for(100, [&](size_t) { all_here = all_here && std::this_thread::get_id() == me; });
  EXPECT_TRUE(all_here);
}

TEST(ThreadPool, ManySmallCallsVisitEveryIndex) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  long expected = 0;
  for (int call = 0; call < 20'000; ++call) {
    const size_t n = 1 + static_cast<size_t>(call % 7);
    pool.parallel_for(n, [&](size_t i) { sum.fetch_add(static_cast<long>(i) + 1); });
    expected += static_cast<long>(n * (n + 1) / 2);
  }
  EXPECT_EQ(sum.load(), expected);
}

TEST(ThreadPool, ParallelForDoesNotAllocate) {
  ThreadPool pool(2);
  std::vector<int> hits(64, 0);
  std::array<char, 256> big_capture{};  // too big for any small-function buffer
  pool.parallel_for(hits.size(), [&](size_t i) { hits[i] += 1 + big_capture[i]; });  // warm up
  allocations = 0;
  count_allocations = true;
  for (int call = 0; call < 1000; ++call)
    pool.parallel_for(hits.size(), [&, big_capture](size_t i) { hits[i] += 1 + big_capture[i]; });
  count_allocations = false;
  EXPECT_EQ(allocations.load(), 0);
  for (int h : hits) EXPECT_EQ(h, 1001);
}

TEST(ThreadPool, TeamThreadsRunItemsConcurrently) {
  // Two items that each wait for the other to start can only finish on two threads.
  ThreadPool pool(2);
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> started{0};
    std::atomic<bool> timed_out{false};
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 5));  // let the helper sleep
    pool.parallel_for(2, [&](size_t) {
      started.fetch_add(1);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (started.load() < 2) {
        if (std::chrono::steady_clock::now() > deadline) {
          timed_out = true;
          return;
        }
        std::this_thread::yield();
      }
    });
    EXPECT_FALSE(timed_out.load()) << "round " << round;
  }
}

TEST(ThreadPool, ErrorsFromHelperThreadsAreRethrown) {
  ThreadPool pool(2);
  const auto me = std::this_thread::get_id();
  for (int round = 0; round < 20; ++round) {
    try {
      pool.parallel_for(64, [&](size_t) {
        if (std::this_thread::get_id() != me) throw std::runtime_error("helper");
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      });
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "helper");
    }
  }
  std::atomic<int> sum{0};
  pool.parallel_for(10, [&](size_t i) { sum += static_cast<int>(i); });
  EXPECT_EQ(sum.load(), 45);
}

TEST(ThreadPool, SeveralCallersTakeTurns) {
  ThreadPool pool(2);
  std::atomic<long> sum{0};
  auto caller = [&] {
    for (int call = 0; call < 2000; ++call) pool.parallel_for(5, [&](size_t i) { sum += static_cast<long>(i); });
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  EXPECT_EQ(sum.load(), 2L * 2000 * 10);
}

TEST(ThreadPool, SubmitWorksWithoutHelpers) {
  ThreadPool pool(1);
  std::atomic<int> ran{0};
  std::vector<std::future<void>> done;
  for (int i = 0; i < 10; ++i) done.push_back(pool.submit([&] { ++ran; }));
  for (auto& f : done) f.get();
  EXPECT_EQ(ran.load(), 10);
}

}  // namespace hearth
