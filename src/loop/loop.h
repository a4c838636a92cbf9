// The personal loop (DESIGN.md §2 `loop/`): a user's good conversations become a fine-tuned
// version of their personal model, trained in the background, evaluated against what is served
// now on the user's own held-out conversations, deployed only when it is better, and rolled back
// in one step.
//
//   start_job()   checks the user's opt-in and data (more than 100 qualifying examples: score
//                 above 0.7), exports a dataset version when none is named, and queues a job
//   JobRunner     one background thread that trains one job at a time (JobRunner below)
//   deploy_job()  the evaluation gate, then version N of the personal model (db/training.h)
//   rollback()    back to the version served before
//
// A job's life (db::JobStatus): queued → running → completed | failed | cancelled. While it
// runs, its row holds the progress (percent, ETA) and training_metrics:
//   {"step", "total_steps", "loss", "eval_loss"?, "tokens", "tokens_per_second", "elapsed_s",
//    "loss_curve": [{"step", "loss", "eval_loss"?}, ...]}
// and training_job_events the stream of what happened (started, steps, evaluation, the end).
// eval_results, once evaluated (evaluation.h):
//   {"metric": "loss", "examples": N, "base": {"loss", "perplexity"}, "tuned": {...},
//    "served": {"version", "loss", "perplexity"}? (the version served when the job evaluated,
//    when it is not the base), "compared_with": {"version", "loss"} (what the gate compares:
//    the served version, else the base), "better": bool,
//    "samples": [{"prompt", "expected", "base", "tuned"}]}
// A job of the remote trainer (trainer "openai", remote_job.h) has no local held-out loss: its
// eval_results are what the remote reported:
//   {"metric": "remote_validation_loss", "remote": {"base_url", "job_id", "fine_tuned_model"},
//    "first_validation_loss"?, "final_validation_loss"?, "better": bool, "why"?}
// and its gate is "better" when the remote's last validation loss is lower than its first (the
// tuning improved on the held-out data while it ran); with fewer than two validation figures
// there is nothing to judge, "better" is false and deploying needs "force". Deploying it makes a
// version with remote_base_url and remote_model (no adapter) that hearth serves by forwarding
// chat requests to that remote with the user's key.
// Every step is audited: training.start (queued), training.run (the runner began it),
// training.cancel (asked), training.finish (completed, failed, cancelled),
// training.deploy, training.rollback — by the user who asked, or none for the schedule.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "core/error.h"
#include "db/db.h"
#include "db/training.h"
#include "library/library.h"
#include "loop/hyperparameters.h"

namespace hearth::loop {

// The rule every count of training data uses: readiness, the export and start_job.
inline constexpr double kQualifyingScore = 0.7;  // an answer qualifies with a score above this
inline constexpr std::int64_t kMinimumExamples = 100;

// Too little data to train: the counts, for the API's answer.
struct NotEnoughData : Error {
  NotEnoughData(std::string model, std::int64_t qualifying, std::int64_t needed);
  std::int64_t qualifying = 0;
  std::int64_t needed = 0;
};

struct StartJob {
  std::string model;  // the personal model's name as the user sees it ("name" or "name:tag")
  std::optional<std::int64_t> dataset_version_id{};  // empty: export the current data now
  Hyperparameters hyperparameters{};
  std::string origin = "api";  // "api", "schedule", "fine_tuning_api"
  std::string suffix{};        // the fine-tuning API's model-name suffix
  // Continue from the served version's adapter (the schedule); otherwise a fresh adapter.
  bool continue_from_served = false;
  // Only conversations after this (the schedule's incremental data).
  std::optional<db::Timestamp> since{};
  // The schedule's replay: up to this many earlier examples added to the new ones, so old skills
  // are kept (0: none).
  std::int64_t replay = 0;
  std::filesystem::path datasets_dir;  // where an export writes (HEARTH_HOME/datasets)
  // "local" (hearth's trainer) or "openai" (the user's remote trainer, remote_settings.h).
  std::string trainer = "local";
  // The remote's base model to tune (trainer "openai"); empty: the personal model's name.
  std::string remote_model{};
  // Data the user sent themselves (the fine-tuning API's uploads, a dataset version made from
  // them) rather than kept conversations: no opt-in needed, and at least this many examples.
  bool uploaded_data = false;
  std::int64_t min_examples = kMinimumExamples;
};

// Queues a job for the user's personal model. Errors:
//   not_found      no such model of the user ("personal model 'x' not found")
//   invalid_input  the user has not opted in to training; fewer than kMinimumExamples qualifying
//                  examples ("only N qualifying examples (score above 0.7); at least 100 are
//                  needed"); a dataset version that is not the user's; bad hyperparameters
//                  a trainer other than "local" or "openai"; "openai" without the user's remote
//                  trainer settings
//   conflict       a job of this model is already queued or running
db::TrainingJob start_job(const db::Database& db, library::Library& library, std::int64_t user_id,
                          std::optional<std::int64_t> started_by, const StartJob& request);

// Deploys a completed job of the user's as the next version of its personal model. The gate:
// refused (conflict) when the evaluation did not find it better than the version served now,
// unless `force`. Also conflict when the job has not completed or is deployed already;
// not_found for another user's job.
db::ModelVersion deploy_job(const db::Database& db, std::int64_t user_id, std::int64_t job_id,
                            bool force, std::optional<std::int64_t> by_user);

// Serves the version served before the current one; returns the version served now.
int rollback(const db::Database& db, std::int64_t user_id, std::int64_t personal_model_id,
             std::optional<std::int64_t> by_user);

// A job of the user's, or Error(not_found) "training job N not found" (also for another user's).
db::TrainingJob user_job(const db::Database& db, std::int64_t user_id, std::int64_t job_id);

// The job as the API shows it: the row's fields with metrics, hyperparameters and eval results
// as JSON, and the fine-tuned model's name once there is one.
boost::json::object job_json(const db::TrainingJob& job, const std::string& model_name);
boost::json::object version_json(const db::ModelVersion& v, int served_version);

// Audit entry helper for the loop's actions (best effort: a failure is logged).
void audit(const db::Database& db, std::optional<std::int64_t> user_id, const std::string& action,
           const std::string& target, const boost::json::object& detail);

}  // namespace hearth::loop
