// Finite-difference checks of backward passes. A function's gradient g at x is checked along
// random unit directions d: the analytic g·d against the central difference
// (L(x + h·d) − L(x − h·d)) / 2h. The losses are F32 computations summed in double, so with
// h = 1e-2 the difference's rounding error is about 1e-5·|L| / h and its truncation error
// O(h²); a wrong gradient term is off by O(|g|), far beyond the tolerance the tests state.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

namespace hearth::train::test {

inline std::vector<float> random_vector(size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

struct DirectionalCheck {
  double analytic = 0;
  double numeric = 0;
  double error() const { return std::abs(analytic - numeric); }
};

// g·d and the central difference along d for loss(x), d a random unit direction; x is
// restored afterwards.
inline DirectionalCheck check_direction(std::vector<float>& x, const std::vector<float>& grad,
                                        const std::function<double()>& loss, std::mt19937& rng,
                                        float h = 1e-2f) {
  std::vector<float> d = random_vector(x.size(), rng);
  const double norm = std::sqrt(dot(d, d));
  for (float& v : d) v = static_cast<float>(v / norm);
  const std::vector<float> x0 = x;
  for (size_t i = 0; i < x.size(); ++i) x[i] = x0[i] + h * d[i];
  const double plus = loss();
  for (size_t i = 0; i < x.size(); ++i) x[i] = x0[i] - h * d[i];
  const double minus = loss();
  x = x0;
  return {dot(grad, d), (plus - minus) / (2.0 * h)};
}

}  // namespace hearth::train::test
