// Helpers of the GPU tests: one device for the whole test binary (its pipelines are built once,
// on first use, and shared by every test), uploads and downloads, and the fixture that skips
// when there is no Vulkan device at all.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpu/gpu.h"
#include "gpu/ops.h"

namespace hearth::gpu::test {

// The devices Vulkan lists, asked once.
inline const DeviceList& devices() {
  static const DeviceList list = list_devices();
  return list;
}

// Device 0, opened once for the process; nullptr when there is none.
inline Device* device() {
  static std::unique_ptr<Device> d = devices().devices.empty() ? nullptr : open_device(0);
  return d.get();
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (devices().devices.empty()) GTEST_SKIP() << "no Vulkan device (" << devices().note << ")";
  }
  Device& dev() { return *device(); }

  // A device buffer holding `v`, kept alive until the test ends; its whole span.
  template <typename T>
  Span put(const std::vector<T>& v) {
    const uint64_t bytes = v.size() * sizeof(T);
    buffers_.push_back(dev().allocate(bytes == 0 ? 4 : bytes));
    if (bytes > 0) buffers_.back()->upload(v.data(), bytes);
    return {buffers_.back().get(), 0, bytes};
  }
  // An uninitialised (NaN-filled) device buffer of n values of T.
  template <typename T = float>
  Span make(size_t n) {
    std::vector<uint32_t> fill(n * sizeof(T) / 4 + 1, 0x7fc00000u);
    buffers_.push_back(dev().allocate(n * sizeof(T)));
    buffers_.back()->upload(fill.data(), n * sizeof(T));
    return {buffers_.back().get(), 0, n * sizeof(T)};
  }
  template <typename T = float>
  std::vector<T> get(const Span& s) {
    std::vector<T> v(s.bytes / sizeof(T));
    s.buffer->download(v.data(), v.size() * sizeof(T), s.offset);
    return v;
  }

 private:
  std::vector<std::unique_ptr<Buffer>> buffers_;
};

inline std::vector<float> random_floats(std::mt19937& rng, size_t n, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// |a − b| ≤ tol · max(1, |b|), for every element.
inline void expect_close(const std::vector<float>& a, const std::vector<float>& b, float tol,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < a.size() && bad < 5; ++i) {
    if (!(std::fabs(a[i] - b[i]) <= tol * std::max(1.0f, std::fabs(b[i])))) {
      ADD_FAILURE() << what << " [" << i << "]: gpu " << a[i] << " cpu " << b[i];
      ++bad;
    }
  }
}

}  // namespace hearth::gpu::test
