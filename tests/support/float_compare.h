// Comparing vectors of floats (logits) in tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>

namespace hearth::test {

// The largest |a[i] - b[i]| over the shorter of the two (NaN counts as infinitely far); callers
// check the sizes themselves.
inline float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    m = std::isnan(d) ? INFINITY : std::max(m, d);
  }
  return m;
}

}  // namespace hearth::test
