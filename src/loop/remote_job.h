// One training job run by a remote OpenAI-compatible fine-tuning API (the user's remote trainer,
// remote_settings.h), from queued (or interrupted) to its end:
//
//   1. uploads the dataset version's train and validation JSONL (POST {base}/files, purpose
//      fine-tune) and creates the remote job (POST {base}/fine_tuning/jobs with the remote base
//      model, the files and the OpenAI-named hyperparameters); its id is stored at once
//      (remote_job_id) so that a restarted server polls it instead of starting another;
//   2. polls GET {base}/fine_tuning/jobs/{id} and .../events about every `poll`: each new remote
//      event becomes a job event, figures in their data (step, train_loss / loss, valid_loss /
//      eval_loss, total_steps) the job's training_metrics and loss curve, the status its progress;
//   3. ends with the remote: succeeded → completed with eval_results (see loop.h's gate for
//      remote jobs); failed, or a remote that cannot be reached or answers errors (three polls in
//      a row) → failed with the remote's words; cancelled there → cancelled here.
//   A cancel of the hearth job is sent on (POST .../cancel). A server stop leaves it running,
//   to resume polling.
#pragma once

#include <atomic>
#include <chrono>

#include "db/db.h"
#include "loop/runner.h"

namespace hearth::loop {

// Never throws: a failure becomes the job's failed status with the error's message.
void run_remote_job(const db::Database& db, const RunnerSettings& settings,
                    const db::TrainingJob& job, const std::atomic<bool>& stopping);

}  // namespace hearth::loop
