#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

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
