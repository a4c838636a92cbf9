#include "core/memory_bandwidth.h"

#include <gtest/gtest.h>

namespace hearth {

TEST(MemoryBandwidth, MeasuresOnOneThread) {
  const BandwidthResult r = measure_read_bandwidth(nullptr, size_t{16} << 20, 2);
  EXPECT_EQ(r.bytes, size_t{16} << 20);
  EXPECT_EQ(r.passes, 2);
  EXPECT_EQ(r.threads, 1u);
  EXPECT_GT(r.best_gbps, 0.0);
  EXPECT_GE(r.best_gbps, r.mean_gbps);
}

TEST(MemoryBandwidth, MeasuresOnThePoolsThreads) {
  ThreadPool pool(2);
  const BandwidthResult r = measure_read_bandwidth(&pool, (size_t{20} << 20) + 7, 1);
  EXPECT_EQ(r.bytes % 64, 0u);
  EXPECT_EQ(r.threads, 2u);
  EXPECT_GT(r.best_gbps, 0.0);
}

}  // namespace hearth
