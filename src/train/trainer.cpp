#include "train/trainer.h"

namespace hearth::train {

Trainer::Trainer(const Network& network, LoraAdapter adapter, TrainSettings settings)
    : network_(network),
      adapter_(std::move(adapter)),
      settings_(settings),
      grads_(LoraGradients::like(adapter_)),
      optimizer_(adapter_, settings.adamw) {
  network_.check(adapter_);
}

SequenceLoss Trainer::step(const Sequence& sequence) {
  return step(sequence, settings_.adamw.lr);
}

SequenceLoss Trainer::step(const Sequence& sequence, float lr) {
  grads_.zero();
  const SequenceLoss loss = network_.run(adapter_, settings_.lora_scale, sequence, &grads_);
  optimizer_.step(adapter_, grads_, lr);
  return loss;
}

double Trainer::evaluate(std::span<const Example> examples) const {
  if (examples.empty()) return 0;
  double sum = 0;
  for (const Example& ex : examples)
    sum += network_.run(adapter_, settings_.lora_scale, ex.sequence(), nullptr).loss;
  return sum / static_cast<double>(examples.size());
}

}  // namespace hearth::train
