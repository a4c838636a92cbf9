// AdamW over an adapter's factors (conformance README §8), with the moments kept in F32:
//   m = b1·m + (1−b1)·g,  v = b2·v + (1−b2)·g²,
//   p −= lr·((m / (1−b1^s)) / (sqrt(v / (1−b2^s)) + eps) + weight_decay·p)
// s the 1-based step. Weight decay is decoupled (applied to p, not added to g).
#pragma once

#include <cstdint>
#include <vector>

#include "train/adapter_file.h"
#include "train/network.h"

namespace hearth::train {

// The optimizer's memory: what a checkpoint keeps to continue exactly.
struct OptimizerState {
  int64_t step = 0;      // updates made
  LoraGradients m, v;    // first and second moments, shaped like the adapter
};

struct AdamWSettings {
  float lr = 2e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0;
};

class AdamW {
 public:
  AdamW(const LoraAdapter& adapter, AdamWSettings settings);

  // One update of every factor of `adapter` from `grads` (shaped like it), at learning rate lr.
  void step(LoraAdapter& adapter, const LoraGradients& grads, float lr);

  int64_t steps_taken() const { return step_; }
  OptimizerState state() const { return {step_, m_, v_}; }
  // Continues from a saved state. Error(invalid_input) when its shapes are not the adapter's.
  void restore(OptimizerState state);
  const AdamWSettings& settings() const { return settings_; }

 private:
  AdamWSettings settings_;
  int64_t step_ = 0;
  LoraGradients m_, v_;  // first and second moments, shaped like the adapter
};

}  // namespace hearth::train
