// See local_job.h.
#include "loop/local_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include <boost/json.hpp>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "db/conversations.h"
#include "db/training.h"
#include "engine/chat/model_chat.h"
#include "engine/kernels/matmul.h"
#include "engine/model/model.h"
#include "hardware/hardware.h"
#include "loop/evaluation.h"
#include "loop/estimate.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "train/adapter_file.h"
#include "train/chat_examples.h"
#include "train/lora_init.h"
#include "train/plan.h"
#include "train/run.h"

namespace hearth::loop {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

using detail::kMaxSeq;
using detail::kSeed;
using detail::kTargets;

// Everything one job needs while it trains.
struct JobRun {
  const db::Database& db;
  library::Library& library;
  const RunnerSettings& settings;
  db::TrainingJob job;
  const std::atomic<bool>& stopping;
  db::TrainingJobs jobs{db};
  fs::path dir{};

  void event(const std::string& message, const json::object& data = {},
             const std::string& level = "info") {
    detail::record_event(db, job.id, level, message, data);
  }

  void train();
};

void JobRun::train() {
  const bool resumed = job.status == db::JobStatus::running;
  jobs.start(job.id);
  audit(db, job.started_by, "training.run", job.base_model,
        {{"job_id", job.id}, {"trainer", "local"}, {"resumed", resumed}});
  dir = settings.jobs_dir / std::to_string(job.id);
  // A fresh job starts from nothing: files left under its id (a database made anew beside an old
  // HEARTH_HOME) are not its own.
  if (!resumed) fs::remove_all(dir);
  fs::create_directories(dir);

  // The base, as it was when the job was queued.
  const library::ResolvedModel base = library.resolve(job.user_id, job.base_model);
  if (!job.base_digest.empty() && detail::model_digest(base.manifest) != job.base_digest)
    throw Error(ErrorKind::conflict, "the base model '" + job.base_model +
                                         "' was replaced since the job was queued; start a new job");
  if (!job.dataset_version_id)
    throw Error(ErrorKind::invalid_input, "the job names no dataset version");
  const auto dataset = db::DatasetVersions(db).find(job.user_id, *job.dataset_version_id);
  if (!dataset)
    throw Error(ErrorKind::not_found,
                "dataset version " + std::to_string(*job.dataset_version_id) + " is gone");

  json::object hyper = detail::object_of(job.hyperparameters);
  const json::value* asked = hyper.if_contains("requested");
  const Hyperparameters requested =
      asked && asked->is_object() ? read_hyperparameters(asked->as_object()) : Hyperparameters{};

  auto model = model::Model::load(base.model_path);
  const chat::ModelChat chat = chat::ModelChat::of(model->file(), model->tokenizer());
  auto read = [&](const std::string& path) {
    return train::fit_to_length(train::read_training_file(path, chat, model->tokenizer()), kMaxSeq);
  };
  std::vector<train::Example> examples = read(dataset->train_path);
  // The schedule's replay: earlier examples (those of the version it continues) mixed in, evenly
  // spread over that data set, so that what the served version learnt is kept.
  if (const auto* replay = hyper.if_contains("replay"); replay && job.init_version > 0) {
    const auto from = db::ModelVersions(db).find(job.model_id, job.init_version);
    const auto earlier = from && from->dataset_version_id
                             ? db::DatasetVersions(db).find(job.user_id, *from->dataset_version_id)
                             : std::nullopt;
    if (earlier) {
      const std::vector<train::Example> old = read(earlier->train_path);
      const auto want = std::min<std::size_t>(old.size(), replay->to_number<std::size_t>());
      for (std::size_t i = 0; i < want; ++i) examples.push_back(old[i * old.size() / want]);
    }
  }
  const std::vector<train::Example> held_out =
      dataset->validation_path.empty() ? std::vector<train::Example>{} : read(dataset->validation_path);

  // The adapter to start from: the served version's when the job continues it, else fresh.
  const auto n = static_cast<std::int64_t>(examples.size());
  TrainingSettings used = resolve(requested, n, requested.batch_size.value_or(4));
  train::LoraAdapter adapter;
  if (job.init_version > 0) {
    auto from = db::ModelVersions(db).find(job.model_id, job.init_version);
    if (!from || from->adapter_path.empty())
      throw Error(ErrorKind::not_found,
                  "version " + std::to_string(job.init_version) + " to continue from is gone");
    adapter = train::read_adapter(from->adapter_path);
    used.rank = adapter.weights.empty() ? used.rank : adapter.weights.front().rank;
    used.alpha = adapter.alpha;
  } else {
    adapter = train::new_adapter(*model, kTargets, static_cast<int>(used.rank),
                                 static_cast<float>(used.alpha), kSeed);
  }

  // The batch: the user's, else the largest of 4, 2, 1 whose memory plan fits.
  ThreadPool pool(static_cast<size_t>(settings.threads));
  const std::uint64_t available =
      settings.memory_budget > 0 ? settings.memory_budget : hardware::read_meminfo().available;
  size_t longest = 0;
  for (const std::vector<train::Example>* set : {&std::as_const(examples), &held_out})
    for (const auto& ex : *set) longest = std::max(longest, ex.tokens.size());
  const BatchChoice batch = choose_batch(*model, adapter, static_cast<std::int64_t>(longest),
                                         requested, n, static_cast<int>(pool.size()), available);
  used = batch.settings;
  if (job.init_version > 0 && !adapter.weights.empty()) {  // the continued adapter's shape
    used.rank = adapter.weights.front().rank;
    used.alpha = adapter.alpha;
  }
  if (available > 0 && batch.plan.peak() > available)
    throw Error(ErrorKind::unavailable,
                "the job needs about " + std::to_string(batch.plan.peak() >> 20) + " MiB at its peak but " +
                    std::to_string(available >> 20) + " MiB is available (HEARTH_TRAIN_MEMORY)");
  hyper["used"] = to_json(used);
  jobs.set_hyperparameters(job.id, format_json(hyper));

  train::RunOptions run;
  run.steps = used.steps;
  run.batch = static_cast<int>(used.batch);
  run.schedule = train::Schedule::cosine;
  run.lr = used.learning_rate;
  run.warmup = std::llround(0.03 * static_cast<double>(run.steps));
  run.seed = kSeed;
  run.eval_every = held_out.empty() ? 0 : std::max<std::int64_t>(1, run.steps / 10);
  run.checkpoint_dir = dir / "checkpoints";
  run.checkpoint_every = settings.checkpoint_every;
  run.settings = {{"job_id", job.id}};
  run.seal = db.data_key(job.user_id);  // checkpoints and the adapter are the user's data
  std::optional<train::Checkpoint> resume;
  if (resumed) {
    resume = train::read_latest_checkpoint(run.checkpoint_dir);
    const boost::json::value* owner = resume ? resume->run.settings.if_contains("job_id") : nullptr;
    if (resume && !(owner && owner->is_int64() && owner->as_int64() == job.id)) resume.reset();
  }

  train::Network network(model, kernels::default_matmul_options(&pool));
  network.set_recompute(batch.plan.recompute);
  train::TrainSettings ts;
  ts.adamw.lr = static_cast<float>(used.learning_rate);
  train::Trainer trainer(network, adapter, ts);

  if (resume)
    event("resumed after step " + std::to_string(resume->run.step), {{"step", resume->run.step}});
  else if (resumed)
    event("restarted from the beginning (no checkpoint was written before the stop)");
  else
    event("started: " + std::to_string(run.steps) + " steps of " + std::to_string(run.batch) +
              " on " + std::to_string(n) + " examples",
          {{"hyperparameters", hyper.at("used")}});

  // Progress: the row after every step (the loss curve continues across restarts).
  json::object metrics = detail::object_of(job.training_metrics);
  json::array curve;
  if (auto* c = metrics.if_contains("loss_curve"); c && c->is_array()) curve = c->as_array();
  if (resume) {  // points after the checkpoint are replayed
    json::array kept;
    for (auto& p : curve)
      if (p.as_object().at("step").to_number<std::int64_t>() <= resume->run.step) kept.push_back(p);
    curve = std::move(kept);
  }
  const std::int64_t first_step = resume ? resume->run.step : 0;
  const std::int64_t tokens_before = resume ? resume->run.tokens : 0;
  const double elapsed_before = resume ? resume->run.elapsed_s : 0;
  std::atomic<bool> stop{false};
  bool cancelled = false;
  const std::int64_t report_every = std::max<std::int64_t>(1, run.steps / 20);
  auto on_step = [&](const train::StepReport& r) {
    const double this_run = std::max(1e-9, r.elapsed_s - elapsed_before);
    const double per_step = this_run / static_cast<double>(std::max<std::int64_t>(1, r.step - first_step));
    const double tok_s = static_cast<double>(r.tokens - tokens_before) / this_run;
    json::object point{{"step", r.step}, {"loss", r.loss}};
    if (r.eval_loss) point["eval_loss"] = *r.eval_loss;
    curve.push_back(point);
    metrics["step"] = r.step;
    metrics["total_steps"] = r.total;
    metrics["loss"] = r.loss;
    metrics["learning_rate"] = r.lr;
    if (r.eval_loss) metrics["eval_loss"] = *r.eval_loss;
    metrics["tokens"] = r.tokens;
    metrics["tokens_per_second"] = tok_s;
    metrics["elapsed_s"] = r.elapsed_s;
    metrics["loss_curve"] = curve;
    const double left_s = per_step * static_cast<double>(r.total - r.step);
    const auto eta = db::now() + std::chrono::milliseconds(static_cast<std::int64_t>(left_s * 1000));
    // Training ends at 90 %: the evaluation takes the rest.
    // Best effort: a busy database costs a progress line, never the job (the next step writes
    // it all again).
    try {
      jobs.update_progress(job.id, 90.0 * static_cast<double>(r.step) / static_cast<double>(r.total),
                           eta, format_json(metrics));
      if (jobs.cancel_requested(job.id)) {
        cancelled = true;
        stop = true;
      }
    } catch (const std::exception& e) {
      SPDLOG_WARN("training job {}: step {} not recorded: {}", job.id, r.step, e.what());
    }
    if (r.eval_loss || r.step % report_every == 0 || r.step == r.total || r.step == first_step + 1)
      event("step " + std::to_string(r.step) + "/" + std::to_string(r.total), point);
    if (stopping) stop = true;
  };
  const train::RunResult result =
      train::run_training(trainer, examples, held_out, run, resume, on_step, &stop);

  if (result.end == train::RunEnd::interrupted) {
    if (cancelled) {
      event("cancelled after step " + std::to_string(result.steps));
      jobs.cancel(job.id);
      audit(db, job.started_by, "training.finish", job.base_model,
            {{"job_id", job.id}, {"status", "cancelled"}});
    } else {
      event("paused after step " + std::to_string(result.steps) +
            " while the server stops; it resumes when the server starts again");
    }
    return;
  }

  const fs::path adapter_path = dir / "adapter.gguf";
  // Named as the fine-tuning API names the job's model ("<base>:<suffix>"), inside the sealed file.
  train::write_adapter(result.adapter, adapter_path, &*run.seal,
                       job.suffix.empty() ? job.base_model : job.base_model + ":" + job.suffix);
  jobs.set_adapter_path(job.id, adapter_path.string());

  // The evaluation gate's figures: against the base and the version served now.
  event("evaluating on " + std::to_string(held_out.size()) + " held-out examples");
  std::optional<ServedAdapter> served;
  if (auto row = db::PersonalModels(db).find(job.model_id); row && row->fine_tune_version > 0)
    if (auto v = db::ModelVersions(db).find(job.model_id, row->fine_tune_version);
        v && !v->adapter_path.empty())
      served = ServedAdapter{v->version, train::read_adapter(v->adapter_path)};
  json::object eval = compare_losses(network, ts, held_out, result.adapter, served);
  if (result.best_eval_loss) eval["best_step"] = result.best_step;
  jobs.update_progress(job.id, 95, std::nullopt);
  try {
    // A server that stops does not wait for a minute of sample answers.
    eval["samples"] = answer_samples(base.model_path, adapter_path, dataset->validation_path,
                                     stopping ? 0 : settings.samples, settings.threads);
  } catch (const std::exception& e) {  // the figures stand without the side-by-side answers
    SPDLOG_WARN("training job {}: no sample answers: {}", job.id, e.what());
    eval["samples"] = boost::json::array{};
    eval["samples_error"] = "the sample answers could not be made";
  }
  jobs.set_eval_results(job.id, format_json(eval));
  const bool better = eval.at("better").as_bool();
  event(std::string("evaluated: ") + (better ? "better than" : "not better than") +
            " what is served now",
        {{"base", eval.contains("base") ? eval.at("base") : json::value(nullptr)},
         {"tuned", eval.contains("tuned") ? eval.at("tuned") : json::value(nullptr)},
         {"better", better}});
  if (jobs.cancel_requested(job.id)) {  // asked while it evaluated
    event("cancelled after its evaluation");
    jobs.cancel(job.id);
    audit(db, job.started_by, "training.finish", job.base_model,
          {{"job_id", job.id}, {"status", "cancelled"}});
    return;
  }
  event("completed", {{"steps", result.steps}});
  jobs.finish(job.id, format_json(metrics));
  audit(db, job.started_by, "training.finish", job.base_model,
        {{"job_id", job.id}, {"status", "completed"}, {"better", better}});
  // The schedule deploys what it trains, through the gate.
  if (job.origin == "schedule") {
    if (better) {
      try {
        deploy_job(db, job.user_id, job.id, false, std::nullopt);
        library.forget_served_versions(job.user_id);
      } catch (const std::exception& e) {  // the job itself succeeded
        event(std::string("not deployed: ") + e.what(), {}, "warn");
      }
    } else {
      event("not deployed: the evaluation gate found it no better than what is served");
    }
  }
}

}  // namespace

void run_local_job(const db::Database& db, library::Library& library,
                   const RunnerSettings& settings, const db::TrainingJob& job,
                   const std::atomic<bool>& stopping) {
  JobRun r{db, library, settings, job, stopping};
  try {
    r.train();
  } catch (const std::exception& e) {
    detail::record_failure(db, job, e, {});
  }
}

}  // namespace hearth::loop
