#include "train/adamw.h"

#include <cmath>

#include "core/error.h"

namespace hearth::train {

namespace {

void update(std::vector<float>& p, const std::vector<float>& g, std::vector<float>& m,
            std::vector<float>& v, const AdamWSettings& s, float lr, double correct1,
            double correct2) {
  for (size_t i = 0; i < p.size(); ++i) {
    m[i] = s.beta1 * m[i] + (1.0f - s.beta1) * g[i];
    v[i] = s.beta2 * v[i] + (1.0f - s.beta2) * g[i] * g[i];
    const double m_hat = m[i] / correct1;
    const double v_hat = v[i] / correct2;
    p[i] -= static_cast<float>(lr * (m_hat / (std::sqrt(v_hat) + s.eps) + s.weight_decay * p[i]));
  }
}

}  // namespace

AdamW::AdamW(const LoraAdapter& adapter, AdamWSettings settings)
    : settings_(settings), m_(LoraGradients::like(adapter)), v_(LoraGradients::like(adapter)) {}

void AdamW::restore(OptimizerState state) {
  auto same_shape = [](const LoraGradients& x, const LoraGradients& y) {
    if (x.a.size() != y.a.size() || x.b.size() != y.b.size()) return false;
    for (size_t i = 0; i < x.a.size(); ++i)
      if (x.a[i].size() != y.a[i].size() || x.b[i].size() != y.b[i].size()) return false;
    return true;
  };
  if (state.step < 0 || !same_shape(state.m, m_) || !same_shape(state.v, v_))
    throw Error(ErrorKind::invalid_input, "the optimizer state does not fit the adapter");
  step_ = state.step;
  m_ = std::move(state.m);
  v_ = std::move(state.v);
}

void AdamW::step(LoraAdapter& adapter, const LoraGradients& grads, float lr) {
  ++step_;
  const double correct1 = 1.0 - std::pow(static_cast<double>(settings_.beta1), step_);
  const double correct2 = 1.0 - std::pow(static_cast<double>(settings_.beta2), step_);
  for (size_t i = 0; i < adapter.weights.size(); ++i) {
    update(adapter.weights[i].a, grads.a[i], m_.a[i], v_.a[i], settings_, lr, correct1, correct2);
    update(adapter.weights[i].b, grads.b[i], m_.b[i], v_.b[i], settings_, lr, correct1, correct2);
  }
}

}  // namespace hearth::train
