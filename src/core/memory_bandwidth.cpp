#include "core/memory_bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

namespace hearth {
namespace {

// Sum of n 64-bit words, 8 independent accumulators (the loads, not the adds, set the pace), with
// the same software prefetch distance as the weight kernels: on the machines measured, a core
// reading without it stays well below what it can stream (4.6 -> 5.9 GB/s on two loaded cores),
// and the figure is meant as the ceiling the kernels are judged against.
uint64_t sum_words(const uint64_t* p, size_t n) {
  constexpr size_t kPrefetchBytes = 4096;
  uint64_t a[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __builtin_prefetch(reinterpret_cast<const char*>(p + i) + kPrefetchBytes);
    for (int k = 0; k < 8; ++k) a[k] += p[i + static_cast<size_t>(k)];
  }
  for (; i < n; ++i) a[0] += p[i];
  uint64_t s = 0;
  for (uint64_t v : a) s += v;
  return s;
}

}  // namespace

BandwidthResult measure_read_bandwidth(ThreadPool* pool, size_t bytes, int passes) {
  BandwidthResult r;
  const size_t words = std::max<size_t>(bytes / 64, 1) * 8;
  r.bytes = words * sizeof(uint64_t);
  r.passes = std::max(1, passes);
  r.threads = pool ? pool->size() : 1;
  std::unique_ptr<uint64_t[]> buffer(new uint64_t[words]);
  uint64_t* data = buffer.get();

  // Chunks of 8 MiB claimed dynamically: a thread held up by another process does not hold the
  // others back, and each thread reads long sequential runs.
  constexpr size_t kChunkWords = (size_t{8} << 20) / sizeof(uint64_t);
  const size_t n_chunks = (words + kChunkWords - 1) / kChunkWords;
  auto for_chunks = [&](auto&& fn) {
    auto item = [&](size_t c) {
      const size_t begin = c * kChunkWords;
      fn(begin, std::min(words, begin + kChunkWords));
    };
    if (pool) {
      pool->parallel_for(n_chunks, item);
    } else {
      for (size_t c = 0; c < n_chunks; ++c) item(c);
    }
  };
  // First touch by the threads that read (pages land where they are used).
  for_chunks([&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) data[i] = i * 0x9E3779B97F4A7C15ull;
  });

  std::atomic<uint64_t> sink{0};
  double total = 0;
  for (int pass = 0; pass <= r.passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    for_chunks([&](size_t begin, size_t end) {
      sink.fetch_add(sum_words(data + begin, end - begin), std::memory_order_relaxed);
    });
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (pass == 0) continue;  // warm-up
    const double gbps = static_cast<double>(r.bytes) / s / 1e9;
    r.best_gbps = std::max(r.best_gbps, gbps);
    total += gbps;
  }
  r.mean_gbps = total / r.passes;
  // Keep the sums observable so the reads cannot be optimised away.
  if (sink.load() == 42) r.best_gbps += 1e-12;
  return r;
}

}  // namespace hearth
