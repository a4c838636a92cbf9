// Row quantizers of the 32-value block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and IQ4_NL.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/quantizer_common.h"
#include "engine/kernels/reference.h"

namespace hearth::kernels::quantizer {
namespace {

using namespace hearth::kernels;

// The value of largest magnitude in x[0..n) (the first one on ties), with its sign.
float signed_absmax(const float* x, int n) {
  float amax = 0.0f;
  float max = 0.0f;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

void min_max(const float* x, int n, float* lo, float* hi) {
  float mn = FLT_MAX;
  float mx = -FLT_MAX;
  for (int j = 0; j < n; ++j) {
    if (x[j] < mn) mn = x[j];
    if (x[j] > mx) mx = x[j];
  }
  *lo = mn;
  *hi = mx;
}

// A symmetric code: truncation of x·id + offset (offset = half the range + 0.5), capped at top.
inline uint8_t symmetric_code(float x, float id, float offset, int top) {
  const int8_t t = static_cast<int8_t>(truncate_to_int(x * id + offset));
  return static_cast<uint8_t>(std::min<int>(top, t));
}

// Index of the grid value nearest to x (grid sorted ascending; ties go to the upper value unless
// strictly closer to the lower one).
int nearest_grid_index(const int8_t* grid, int n, float x) {
  if (x <= grid[0]) return 0;
  if (x >= grid[n - 1]) return n - 1;
  int lo = 0;
  int hi = n - 1;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < grid[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return x - grid[hi - 1] < grid[hi] - x ? hi - 1 : hi;
}

}  // namespace

void q4_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_q4_0*>(out);
  for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
    const float max = signed_absmax(x, QK4_0);
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
      const uint8_t lo = symmetric_code(x[j], id, 8.5f, 15);
      const uint8_t hi = symmetric_code(x[j + QK4_0 / 2], id, 8.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void q4_1(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_q4_1*>(out);
  for (int64_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
    float mn, mx;
    min_max(x, QK4_1, &mn, &mx);
    const float d = (mx - mn) / ((1 << 4) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    y[i].m = to_f16(mn);
    for (int j = 0; j < QK4_1 / 2; ++j) {
      const uint8_t lo = symmetric_code(x[j] - mn, id, 0.5f, 15);
      const uint8_t hi = symmetric_code(x[j + QK4_1 / 2] - mn, id, 0.5f, 15);
      y[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void q5_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_q5_0*>(out);
  for (int64_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
    const float max = signed_absmax(x, QK5_0);
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; ++j) {
      const uint8_t lo = symmetric_code(x[j], id, 16.5f, 31);
      const uint8_t hi = symmetric_code(x[j + QK5_0 / 2], id, 16.5f, 31);
      y[i].qs[j] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
      qh |= static_cast<uint32_t>((lo & 0x10u) >> 4) << j;
      qh |= static_cast<uint32_t>((hi & 0x10u) >> 4) << (j + QK5_0 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof qh);
  }
}

void q5_1(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_q5_1*>(out);
  for (int64_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
    float mn, mx;
    min_max(x, QK5_1, &mn, &mx);
    const float d = (mx - mn) / ((1 << 5) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    y[i].m = to_f16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; ++j) {
      // No cap here (llama.cpp has none either): (x − min)·id + 0.5 stays below 32 for finite data.
      const auto lo = static_cast<uint8_t>(truncate_to_int((x[j] - mn) * id + 0.5f));
      const auto hi = static_cast<uint8_t>(truncate_to_int((x[j + QK5_1 / 2] - mn) * id + 0.5f));
      y[i].qs[j] = static_cast<uint8_t>((lo & 0x0F) | ((hi & 0x0F) << 4));
      qh |= static_cast<uint32_t>((lo & 0x10u) >> 4) << j;
      qh |= static_cast<uint32_t>((hi & 0x10u) >> 4) << (j + QK5_1 / 2);
    }
    std::memcpy(y[i].qh, &qh, sizeof qh);
  }
}

void q8_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_q8_0*>(out);
  for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / ((1 << 7) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = to_f16(d);
    for (int j = 0; j < QK8_0; ++j) {
      // roundf: half away from zero. |x·id| ≤ 127 for finite data.
      y[i].qs[j] = static_cast<int8_t>(truncate_to_int(std::round(x[j] * id)));
    }
  }
}

// IQ4_NL: one scale per 32 values on the non-linear grid kvalues_iq4nl. Weights are x²; the
// scale starts at max/127 (max = the value of largest magnitude, so that it maps to −127), is
// refined by weighted least squares, and 15 more starting points (grid end −127 + t, t = −7..7)
// are tried, keeping the one with the best Σwqx²/Σwq² score.
void iq4_nl(const float* x, void* out, int64_t n) {
  auto* y = static_cast<block_iq4_nl*>(out);
  const int8_t* grid = kvalues_iq4nl;
  constexpr int kTries = 7;
  float weight[QK4_NL];
  uint8_t L[QK4_NL];
  for (int64_t ib = 0; ib < n / QK4_NL; ++ib, x += QK4_NL) {
    for (int j = 0; j < QK4_NL; ++j) weight[j] = x[j] * x[j];
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < QK4_NL; ++j) {
      const float ax = std::fabs(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    float scale = 0.0f;
    if (amax >= kGroupMaxEps) {
      float d = -max / grid[0];
      float id = 1 / d;
      float sumqx = 0, sumq2 = 0;
      for (int j = 0; j < QK4_NL; ++j) {
        const float q = grid[nearest_grid_index(grid, 16, id * x[j])];
        sumqx += weight[j] * q * x[j];
        sumq2 += weight[j] * q * q;
      }
      if (sumq2 > 0) {
        d = sumqx / sumq2;
        float best = d * sumqx;
        for (int t = -kTries; t <= kTries; ++t) {
          id = static_cast<float>(t + grid[0]) / max;
          sumqx = sumq2 = 0;
          for (int j = 0; j < QK4_NL; ++j) {
            const float q = grid[nearest_grid_index(grid, 16, id * x[j])];
            sumqx += weight[j] * q * x[j];
            sumq2 += weight[j] * q * q;
          }
          if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
          }
        }
        scale = d;
      }
      // else: every square underflowed; llama.cpp would store 0/0 = NaN, hearth a zero block.
    }
    y[ib].d = to_f16(scale);
    const float id = scale != 0.0f ? 1 / scale : 0.0f;
    for (int j = 0; j < QK4_NL; ++j) L[j] = static_cast<uint8_t>(nearest_grid_index(grid, 16, id * x[j]));
    for (int j = 0; j < QK4_NL / 2; ++j) y[ib].qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
  }
}

}  // namespace hearth::kernels::quantizer
