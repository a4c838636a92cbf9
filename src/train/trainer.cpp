#include "train/trainer.h"

#include <cmath>

namespace hearth::train {

namespace {

int64_t count_targets(const Sequence& s) {
  int64_t n = 0;
  for (size_t t = 1; t < s.mask.size(); ++t) n += s.mask[t] != 0;
  return n;
}

// Applies f to every gradient value.
template <typename F>
void for_each_value(LoraGradients& g, F&& f) {
  for (auto* group : {&g.a, &g.b})
    for (auto& v : *group)
      for (float& x : v) f(x);
}

}  // namespace

Trainer::Trainer(const Network& network, LoraAdapter adapter, TrainSettings settings)
    : network_(network),
      adapter_(std::move(adapter)),
      settings_(settings),
      grads_(LoraGradients::like(adapter_)),
      optimizer_(adapter_, settings.adamw) {
  network_.check(adapter_);
}

void Trainer::restore(LoraAdapter adapter, OptimizerState optimizer) {
  network_.check(adapter);
  AdamW restored(adapter, settings_.adamw);
  restored.restore(std::move(optimizer));
  adapter_ = std::move(adapter);
  grads_ = LoraGradients::like(adapter_);
  sequence_grads_ = {};
  optimizer_ = std::move(restored);
}

SequenceLoss Trainer::step(const Sequence& sequence) {
  return step(std::span<const Sequence>(&sequence, 1), settings_.adamw.lr);
}

SequenceLoss Trainer::step(std::span<const Sequence> batch, float lr) {
  grads_.zero();
  int64_t total = 0;
  for (const Sequence& s : batch) total += count_targets(s);
  SequenceLoss result;
  result.n_targets = total;
  if (total == 0) return result;
  if (batch.size() == 1) {
    result.loss = network_.run(adapter_, settings_.lora_scale, batch[0], &grads_).loss;
  } else {
    if (sequence_grads_.a.empty()) sequence_grads_ = LoraGradients::like(adapter_);
    double loss_sum = 0;
    for (const Sequence& s : batch) {
      sequence_grads_.zero();
      const SequenceLoss l = network_.run(adapter_, settings_.lora_scale, s, &sequence_grads_);
      if (l.n_targets == 0) continue;
      // Each sequence's loss is its own mean: weigh it by its share of the batch's targets.
      const float w = static_cast<float>(l.n_targets) / static_cast<float>(total);
      loss_sum += l.loss * static_cast<double>(l.n_targets);
      for (size_t i = 0; i < grads_.a.size(); ++i) {
        for (size_t j = 0; j < grads_.a[i].size(); ++j)
          grads_.a[i][j] += w * sequence_grads_.a[i][j];
        for (size_t j = 0; j < grads_.b[i].size(); ++j)
          grads_.b[i][j] += w * sequence_grads_.b[i][j];
      }
    }
    result.loss = loss_sum / static_cast<double>(total);
  }
  if (settings_.clip > 0) {
    double sum = 0;
    for_each_value(grads_, [&](float& x) { sum += static_cast<double>(x) * x; });
    const double norm = std::sqrt(sum);
    if (norm > settings_.clip) {
      const auto k = static_cast<float>(settings_.clip / norm);
      for_each_value(grads_, [&](float& x) { x *= k; });
    }
  }
  optimizer_.step(adapter_, grads_, lr);
  return result;
}

double Trainer::evaluate(std::span<const Example> examples) const {
  if (examples.empty()) return 0;
  double sum = 0;
  for (const Example& ex : examples)
    sum += network_.run(adapter_, settings_.lora_scale, ex.sequence(), nullptr).loss;
  return sum / static_cast<double>(examples.size());
}

}  // namespace hearth::train
