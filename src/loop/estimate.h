// What a training job would take, said before it starts (POST /api/training/plan): the
// examples and tokens it would train on, the settings it would use, the memory planner's peak
// (train/plan.h) against what the machine has, and a time estimate with what it rests on.
//
// The time comes from this user's newest finished local job of the same base model (its measured
// tokens per second over the tokens this job would see); with none there is no honest figure,
// and the estimate says so instead of guessing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "db/db.h"
#include "engine/model/model.h"
#include "library/library.h"
#include "loop/hyperparameters.h"
#include "train/plan.h"

namespace hearth::loop {

struct EstimateJob {
  std::string model;  // the personal model's name
  std::optional<std::int64_t> dataset_version_id{};  // empty: the data an export would take now
  Hyperparameters hyperparameters{};
  std::uint64_t memory_budget = 0;  // HEARTH_TRAIN_MEMORY; 0: what the system has available
  int threads = 1;
  std::filesystem::path scratch_dir;  // where the current data is written briefly to be read
};

struct JobEstimate {
  std::string model;
  std::int64_t examples = 0;
  std::int64_t tokens = 0;   // in all examples, once
  std::int64_t longest = 0;  // tokens of the longest example (after cutting to max_seq)
  TrainingSettings settings{};
  std::int64_t trained_tokens = 0;  // tokens the steps will see: steps × batch × mean example
  train::MemoryPlan memory{};
  std::uint64_t available = 0;  // 0: unknown
  bool fits = true;
  std::optional<double> seconds{};
  std::string basis;
};

// The batch a local job trains with: the user's (asked.batch_size), else the largest of 4, 2, 1
// whose memory plan for sequences of `longest` tokens fits `available` bytes (0: unknown; the
// largest then). The settings for that batch over `examples` examples, and its plan, which may
// still not fit.
struct BatchChoice {
  TrainingSettings settings;
  train::MemoryPlan plan;
};
BatchChoice choose_batch(const model::Model& model, const train::LoraAdapter& adapter,
                         std::int64_t longest, const Hyperparameters& asked,
                         std::int64_t examples, int threads, std::uint64_t available);

// Errors as start_job's: not_found (no such model), invalid_input (not opted in, a dataset that
// is not the user's, bad hyperparameters), NotEnoughData.
JobEstimate estimate_job(const db::Database& db, library::Library& library, std::int64_t user_id,
                         const EstimateJob& request);

}  // namespace hearth::loop
