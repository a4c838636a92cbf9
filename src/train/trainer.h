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
  float clip = 0;           // largest L2 norm of all gradients together (0: no clipping)
  AdamWSettings adamw;
};

class Trainer {
 public:
  // Error(invalid_input) when the adapter does not fit the network's model (Network::check).
  Trainer(const Network& network, LoraAdapter adapter, TrainSettings settings);

  // One step on one sequence: forward, backward, AdamW update at the settings' lr. Returns the
  // sequence's loss with the adapter as it was before the update.
  SequenceLoss step(const Sequence& sequence);
  // One step on a batch at learning rate lr (for schedules): the loss is the mean over all target
  // tokens of the batch (a sequence weighs by its number of targets), its gradient accumulated
  // sequence by sequence, clipped, then one AdamW update.
  SequenceLoss step(std::span<const Sequence> batch, float lr);

  // Mean over the examples of each one's loss with the current adapter (no update).
  double evaluate(std::span<const Example> examples) const;

  const LoraAdapter& adapter() const { return adapter_; }
  int64_t steps_taken() const { return optimizer_.steps_taken(); }
  OptimizerState optimizer_state() const { return optimizer_.state(); }
  // Continues from a checkpoint: its adapter (checked like the constructor's) and optimizer.
  void restore(LoraAdapter adapter, OptimizerState optimizer);

 private:
  const Network& network_;
  LoraAdapter adapter_;
  TrainSettings settings_;
  LoraGradients grads_;
  LoraGradients sequence_grads_;  // one sequence's, when a batch has several
  AdamW optimizer_;
};

}  // namespace hearth::train
