// A whole training run over a data set: the steps in data order, the learning-rate schedule,
// evaluation on held-out examples with early stopping, checkpoints and resuming, and stopping on
// request (Ctrl-C) with a checkpoint. `hearth train` drives one; the training jobs of the server
// will too.
//
// Step s (1-based) takes the examples at data positions (s−1)·batch … s·batch−1: each epoch in
// file order, or in a shuffle seeded by (seed, epoch), so where the data stands follows from the
// step alone and a resumed run takes the same examples as one that never stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "train/checkpoint.h"
#include "train/examples.h"
#include "train/schedule.h"
#include "train/trainer.h"

namespace hearth::train {

struct RunOptions {
  int64_t steps = 1;  // optimizer steps in all
  int batch = 1;      // sequences per step
  Schedule schedule = Schedule::constant;
  double lr = 2e-4;
  int64_t warmup = 0;  // steps
  bool shuffle = true;
  uint64_t seed = 42;
  int64_t eval_every = 0;  // steps between evaluations (0: none); also at the last step
  int64_t patience = 0;    // stop after this many evaluations without a better loss (0: never)
  std::filesystem::path checkpoint_dir;  // empty: no checkpoints
  int64_t checkpoint_every = 0;          // steps between checkpoints (0: only when stopped)
  boost::json::object settings;          // kept in checkpoints, for the resuming command
  std::optional<crypto::DataKey> seal;   // checkpoints sealed with this user key (a server job)
};

struct StepReport {
  int64_t step = 0, total = 0;
  double loss = 0;  // the batch's mean over its targets, before the update
  double lr = 0;
  int64_t tokens = 0;     // tokens of every sequence taken so far (resumed runs included)
  double elapsed_s = 0;   // training time so far (resumed runs included)
  std::optional<double> eval_loss;  // when this step ended with an evaluation
};

enum class RunEnd { finished, early_stopped, interrupted };

struct RunResult {
  RunEnd end = RunEnd::finished;
  int64_t steps = 0;                // steps taken (resumed runs included)
  LoraAdapter adapter;              // the best by validation loss when there were evaluations
  std::optional<double> best_eval_loss;
  int64_t best_step = 0;
};

// The position-to-example order described above.
class DataOrder {
 public:
  DataOrder(size_t n, bool shuffle, uint64_t seed);
  size_t at(int64_t position);

 private:
  size_t n_;
  bool shuffle_;
  uint64_t seed_;
  uint64_t epoch_ = UINT64_MAX;
  std::vector<size_t> order_;
};

// Runs `trainer` over `examples` (none empty) from `resume`'s step, or from the start. `stop`
// (may be null) turning true ends the run after the current step, with a checkpoint when there
// is a checkpoint folder. `on_step` sees every step. Evaluations use `eval_examples` (mean loss
// over them, without an update); none when it is empty.
RunResult run_training(Trainer& trainer, std::span<const Example> examples,
                       std::span<const Example> eval_examples, const RunOptions& options,
                       const std::optional<Checkpoint>& resume,
                       const std::function<void(const StepReport&)>& on_step,
                       const std::atomic<bool>* stop = nullptr);

}  // namespace hearth::train
