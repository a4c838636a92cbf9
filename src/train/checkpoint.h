// Checkpoints of a training run, so that a long job on a laptop survives Ctrl-C, a reboot or
// kill -9: `hearth train --resume DIR` continues from the last one and, in exact mode, follows the
// same loss trajectory as a run that was never stopped (the data order is a function of the seed
// and the position, so the step says where the data stands).
//
// Layout: DIR/step-<N>/ per checkpoint, N the optimizer steps taken:
//   adapter.gguf  the adapter after step N (llama.cpp's adapter format, adapter_file.h)
//   best.gguf     the adapter with the best validation loss so far, when there was an evaluation
//   state.gguf    AdamW's moments as F32 tensors <weight>.lora_a.m / .v and <weight>.lora_b.m / .v,
//                 train.step (u64) and train.state (JSON: the run's counters and settings)
// Each file is written atomically and state.gguf last, so a folder without a readable state.gguf
// is a checkpoint that was cut short, and the newest complete one is the one read. Older folders
// are removed once a newer one is complete.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

#include "train/adamw.h"
#include "train/adapter_file.h"

namespace hearth::train {

// Where a run stands, besides the adapter and the optimizer.
struct RunState {
  int64_t step = 0;        // optimizer steps taken
  int64_t tokens = 0;      // tokens processed since the start
  double elapsed_s = 0;    // training time since the start, over every resumed run
  std::optional<double> best_eval_loss;
  int64_t best_step = 0;
  int64_t evals_since_best = 0;  // evaluations without improvement (early stopping)
  boost::json::object settings;  // the run's options (what a resume must keep)
};

struct Checkpoint {
  LoraAdapter adapter;
  OptimizerState optimizer;
  RunState run;
  std::optional<LoraAdapter> best;
};

// Writes DIR/step-<run.step>/ and then removes the older checkpoints. Error(io) when it cannot.
// `seal`: every file sealed with that data key (crypto/sealed_file.h); read_latest_checkpoint
// opens sealed and plain ones alike.
void write_checkpoint(const std::filesystem::path& dir, const Checkpoint& checkpoint,
                      const crypto::DataKey* seal = nullptr);

// The newest complete checkpoint of DIR; nullopt when there is none. Error(corrupt_file) naming
// the file when the newest complete one cannot be read.
std::optional<Checkpoint> read_latest_checkpoint(const std::filesystem::path& dir);

}  // namespace hearth::train
