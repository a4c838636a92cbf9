// Splitting a training operation's work over the thread pool (internal to train/). Work is split
// only where each item's result does not depend on the split (distinct output rows, each summed
// in the same order), so results are identical for any number of threads.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace hearth::train {

// f(begin, end) over [0, n) in one contiguous range per thread (or all at once without a pool).
template <typename F>
void for_ranges(ThreadPool* pool, int64_t n, F&& f) {
  const int64_t parts = pool ? std::min<int64_t>(n, static_cast<int64_t>(pool->size())) : 1;
  if (parts <= 1) {
    f(int64_t{0}, n);
    return;
  }
  pool->parallel_for(static_cast<size_t>(parts), [&](size_t i) {
    const auto k = static_cast<int64_t>(i);
    f(n * k / parts, n * (k + 1) / parts);
  });
}

}  // namespace hearth::train
