// The machine's memory read bandwidth, measured STREAM-style: a sum over a buffer much larger
// than the caches, split over a ThreadPool's threads, best of a few passes. Benchmarks report
// it beside their figures so results from a noisy, shared machine can be judged as ratios
// (memory-bound work, such as generating tokens, should approach it).
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace hearth {

struct BandwidthResult {
  double best_gbps = 0;    // bytes read / fastest pass, in GB/s (1e9 bytes)
  double mean_gbps = 0;    // over the passes
  size_t bytes = 0;        // buffer size
  int passes = 0;
  size_t threads = 1;
};

// Reads `bytes` (rounded down to a multiple of 64) `passes` times after one untimed pass that
// touches every page; pool may be null (one thread). The buffer is freed before returning, but
// it does count in the process's peak RSS: measure RSS before calling this.
BandwidthResult measure_read_bandwidth(ThreadPool* pool, size_t bytes = size_t{1} << 30,
                                       int passes = 4);

}  // namespace hearth
