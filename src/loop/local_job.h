// One training job run by hearth's own trainer, from its queued (or interrupted) state to its
// end: see runner.h for when it runs and loop.h for what its row holds.
#pragma once

#include <atomic>

#include "db/db.h"
#include "library/library.h"
#include "loop/runner.h"

namespace hearth::loop {

// Trains, checkpoints, evaluates and finishes the job. Never throws: a failure becomes the job's
// failed status with the error's message (and an error event). With `stopping`, the job ends
// after the step in flight with a checkpoint and stays running, to resume later.
void run_local_job(const db::Database& db, library::Library& library,
                   const RunnerSettings& settings, const db::TrainingJob& job,
                   const std::atomic<bool>& stopping);

}  // namespace hearth::loop
