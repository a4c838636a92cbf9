// The training loop's core: an adapter being trained on a frozen base, one optimizer step at a
// time (batches, schedules, checkpoints and the CLI build on this).
#pragma once

#include <span>

#include "train/adamw.h"
#include "train/examples.h"
#include "train/network.h"

namespace hearth::train {

struct TrainSettings {
  float lora_scale = 1.0f;  // every adapted weight computes W x + lora_scale·(alpha/r)·B(A x)
  AdamWSettings adamw;
};

class Trainer {
 public:
  // Error(invalid_input) when the adapter does not fit the network's model (Network::check).
  Trainer(const Network& network, LoraAdapter adapter, TrainSettings settings);

  // One step on one sequence: forward, backward, AdamW update at the settings' lr. Returns the
  // sequence's loss with the adapter as it was before the update.
  SequenceLoss step(const Sequence& sequence);
  // The same at learning rate lr (for schedules).
  SequenceLoss step(const Sequence& sequence, float lr);

  // Mean over the examples of each one's loss with the current adapter (no update).
  double evaluate(std::span<const Example> examples) const;

  const LoraAdapter& adapter() const { return adapter_; }
  int64_t steps_taken() const { return optimizer_.steps_taken(); }

 private:
  const Network& network_;
  LoraAdapter adapter_;
  TrainSettings settings_;
  LoraGradients grads_;
  AdamW optimizer_;
};

}  // namespace hearth::train
