// The memory plan of a training run (`hearth train --dry-run`, and the check before every run):
// what each part needs at the peak, from the model's shape, the adapter and the longest
// sequence. Sequences of a batch run one after another (their gradients add up), so the
// activations are one sequence's; the base stays in its file's mapping.
//
//   weights      the model file's tensors (mapped; pages read as they are used)
//   adapter      A and B in F32
//   gradients    one set (two with a batch of several sequences: the batch's and the sequence's)
//   optimizer    AdamW's two moments
//   activations  what every layer keeps for the backward pass (or, recomputing, every block's
//                input and one block's activations at a time) (per token: the block input and its
//                normed rows, q/k/v, the attention output and log-sum-exps, the FFN's gate, up and
//                SwiGLU rows, A x of each adapted projection), and the final norm's rows
//   logits       the logits of the target positions and their gradient (vocabulary-wide rows)
//   working      the backward pass's temporary rows (one block's gradients, per-thread slabs)
#pragma once

#include <cstdint>
#include <string>

#include "engine/model/model.h"
#include "train/adapter_file.h"

namespace hearth::train {

struct MemoryPlan {
  bool recompute = false;  // activations recomputed per block in the backward pass (network.h)
  uint64_t weights = 0, adapter = 0, gradients = 0, optimizer = 0, activations = 0, logits = 0,
           working = 0;
  uint64_t peak() const {
    return weights + adapter + gradients + optimizer + activations + logits + working;
  }
};

// recompute: the plan with each block's activations recomputed in the backward pass (only the
// blocks' inputs kept, plus one block's activations at a time).
MemoryPlan plan_memory(const model::Model& model, const LoraAdapter& adapter, int64_t max_seq,
                       int batch, int threads, bool recompute = false);

// The plan the run uses within `available` bytes (0: unknown): activations kept when they fit,
// else recomputed; `force_recompute` recomputes whatever the budget. The result may still not
// fit (its peak says so).
MemoryPlan choose_plan(const model::Model& model, const LoraAdapter& adapter, int64_t max_seq,
                       int batch, int threads, uint64_t available, bool force_recompute);

// The plan as lines for people ("  activations   1.23 GiB"), ending with the peak and, when
// known (> 0), the memory available.
std::string plan_text(const MemoryPlan& plan, uint64_t available = 0);

}  // namespace hearth::train
