// Starting, deploying and rolling back training jobs (loop.h).
#include <boost/json.hpp>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/sha256.h"
#include "data/data.h"
#include "db/conversations.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "db/training.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

json::value time_or_null(const std::optional<db::Timestamp>& t) {
  if (!t) return nullptr;
  return json::string(db::format_time(*t));
}

bool has_active_job(const db::Database& db, std::int64_t model_id) {
  for (const db::TrainingJob& j : db::TrainingJobs(db).list_for_model(model_id))
    if (j.status == db::JobStatus::queued || j.status == db::JobStatus::running) return true;
  return false;
}

}  // namespace

NotEnoughData::NotEnoughData(std::string model, std::int64_t qualifying_count, std::int64_t needed_count)
    : Error(ErrorKind::invalid_input,
            "only " + std::to_string(qualifying_count) + " qualifying examples for '" + model +
                "' (answers scoring above 0.7 in conversations allowed for training); at least " +
                std::to_string(needed_count) + " are needed to train"),
      qualifying(qualifying_count),
      needed(needed_count) {}

void audit(const db::Database& db, std::optional<std::int64_t> user_id, const std::string& action,
           const std::string& target, const json::object& detail) {
  try {
    db::AuditLog(db).record(user_id, action, target, format_json(detail));
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not record the audit entry {} {}: {}", action, target, e.what());
  }
}

db::TrainingJob user_job(const db::Database& db, std::int64_t user_id, std::int64_t job_id) {
  auto job = db::TrainingJobs(db).find(job_id);
  if (!job || job->user_id != user_id)
    throw Error(ErrorKind::not_found, "training job " + std::to_string(job_id) + " not found");
  return *job;
}

db::TrainingJob start_job(const db::Database& db, library::Library& library, std::int64_t user_id,
                          std::optional<std::int64_t> started_by, const StartJob& request) {
  if (request.model.empty())
    throw Error(ErrorKind::invalid_input, "field 'model' is required: the personal model to train");
  const library::ResolvedModel base = library.resolve(user_id, request.model);
  auto row = db::PersonalModels(db).find_by_name(user_id, base.name);
  if (!row)
    throw Error(ErrorKind::not_found, "personal model '" + request.model + "' not found");
  if (!request.uploaded_data && !db::UserSettingsStore(db).get(user_id).training_opt_in)
    throw Error(ErrorKind::invalid_input,
                "you have not opted in to training; opt in with PUT /api/settings "
                "{\"training_opt_in\": true} and keep the conversations you want it to learn from");
  if (request.trainer != "local" && request.trainer != "openai")
    throw Error(ErrorKind::invalid_input, "field 'trainer' must be \"local\" or \"openai\", not '" +
                                              request.trainer + "'");
  if (request.trainer == "openai" && !db::RemoteTrainers(db).find(user_id))
    throw Error(ErrorKind::invalid_input,
                "you have no remote trainer: set one with PUT /api/training/remote "
                "{\"base_url\", \"api_key\"} before starting a job with \"trainer\": \"openai\"");
  if (has_active_job(db, row->id))
    throw Error(ErrorKind::conflict, "a training job of '" + base.name +
                                         "' is already queued or running; cancel it or wait");

  std::optional<db::DatasetVersion> dataset;
  if (request.dataset_version_id) {
    dataset = db::DatasetVersions(db).find(user_id, *request.dataset_version_id);
    if (!dataset)  // another user's answers as a missing one
      throw Error(ErrorKind::not_found,
                  "dataset version " + std::to_string(*request.dataset_version_id) + " not found");
    const std::int64_t n = dataset->train_examples + dataset->validation_examples;
    if (n < request.min_examples) throw NotEnoughData(base.name, n, request.min_examples);
  } else {
    data::ExportOptions o;
    o.min_score = kQualifyingScore;
    o.min_examples = kMinimumExamples;
    o.model = base.name;
    o.since = request.since;
    o.validation = 0.1;
    // Count first so that too little data is refused with the counts and nothing is written.
    std::int64_t qualifying = 0;
    for (const data::Readiness& r :
         data::readiness(db, user_id, kQualifyingScore, kMinimumExamples, request.since))
      if (r.model == base.name) qualifying = r.qualifying;
    if (qualifying < kMinimumExamples) throw NotEnoughData(base.name, qualifying, kMinimumExamples);
    const data::ExportResult exported = data::export_dataset(db, user_id, o, request.datasets_dir);
    dataset = db::DatasetVersions(db).find(user_id, exported.dataset_version_id);
    HEARTH_ASSERT(dataset.has_value(), "an exported dataset version vanished");
  }

  json::object hyper{{"requested", to_json(request.hyperparameters)}};
  if (request.replay > 0) hyper["replay"] = request.replay;
  if (request.trainer == "openai")
    hyper["remote_model"] = request.remote_model.empty() ? row->custom_name : request.remote_model;
  db::NewTrainingJob n;
  n.user_id = user_id;
  n.model_id = row->id;
  n.training_data_size = dataset->train_examples;
  n.dataset_version_id = dataset->id;
  n.hyperparameters = format_json(hyper);
  n.origin = request.origin;
  n.started_by = started_by;
  n.base_model = base.name;
  n.base_digest = detail::model_digest(base.manifest);
  n.init_version = request.continue_from_served ? row->fine_tune_version : 0;
  n.suffix = request.suffix;
  n.one_at_a_time = true;  // checked again where it cannot race (has_active_job is the early word)
  n.trainer = request.trainer;
  db::TrainingJob job = db::TrainingJobs(db).create(n);
  db::JobEvents(db).add(job.id, "info",
                        "queued: " + std::to_string(dataset->train_examples) +
                            " training and " + std::to_string(dataset->validation_examples) +
                            " held-out examples of dataset version " + std::to_string(dataset->id));
  audit(db, started_by, "training.start", base.name,
        {{"job_id", job.id}, {"dataset_version_id", dataset->id}, {"origin", request.origin}});
  return job;
}

db::ModelVersion deploy_job(const db::Database& db, std::int64_t user_id, std::int64_t job_id,
                            bool force, std::optional<std::int64_t> by_user) {
  const db::TrainingJob job = user_job(db, user_id, job_id);
  const std::string label = "training job " + std::to_string(job_id);
  if (job.status != db::JobStatus::completed)
    throw Error(ErrorKind::conflict, label + " is " + std::string(db::to_string(job.status)) +
                                         ": only a completed job can be deployed");
  if (job.deployed_version)
    throw Error(ErrorKind::conflict,
                label + " is deployed already as version " + std::to_string(*job.deployed_version));
  const json::value eval = detail::object_of(job.eval_results);
  const json::object* remote = nullptr;
  if (job.trainer == "openai")
    if (const auto* r = eval.as_object().if_contains("remote"); r && r->is_object()) remote = &r->as_object();
  if (job.trainer == "openai" && !remote)
    throw Error(ErrorKind::conflict, label + " has no remote model to deploy");
  if (!remote && job.adapter_path.empty())
    throw Error(ErrorKind::conflict, label + " has no trained adapter to deploy");
  const json::value* better = eval.is_object() ? eval.as_object().if_contains("better") : nullptr;
  // The gate compared with what was served when the job evaluated; another version deployed
  // since was never compared with it.
  const auto row = db::PersonalModels(db).find(job.model_id);
  const json::value* compared = eval.as_object().if_contains("compared_with");
  const int compared_version =
      compared && compared->is_object() && compared->as_object().contains("version")
          ? static_cast<int>(compared->as_object().at("version").to_number<std::int64_t>())
          : 0;
  if (!force && row && row->fine_tune_version != compared_version)
    throw Error(ErrorKind::conflict,
                label + " was evaluated against version " + std::to_string(compared_version) +
                    ", but version " + std::to_string(row->fine_tune_version) +
                    " is served now; deploy with \"force\": true to use it anyway");
  if (!force && !(better && better->is_bool() && better->as_bool())) {
    if (remote)
      throw Error(ErrorKind::conflict,
                  label + " (trained remotely) was not found better" +
                      (eval.as_object().contains("why")
                           ? ": " + std::string(eval.as_object().at("why").as_string())
                           : ": the remote's final validation loss is not lower than its first") +
                      "; deploy with \"force\": true to use it anyway");
    std::string figures;
    if (const auto* t = eval.as_object().if_contains("tuned"))
      if (const auto* b = eval.as_object().if_contains("compared_with"))
        figures = " (held-out loss " + json::serialize(t->as_object().at("loss")) + " against " +
                  json::serialize(b->as_object().at("loss")) + ")";
    throw Error(ErrorKind::conflict,
                label + "'s adapter is not better than what is served now on the held-out "
                        "conversations" + figures +
                        "; deploy with \"force\": true to use it anyway");
  }
  db::ModelVersion v;
  v.personal_model_id = job.model_id;
  v.user_id = user_id;
  v.job_id = job.id;
  if (remote) {
    v.remote_base_url = std::string(remote->at("base_url").as_string());
    v.remote_model = std::string(remote->at("fine_tuned_model").as_string());
  } else {
    v.adapter_path = job.adapter_path;
    v.adapter_digest = "sha256:" + sha256_file_hex(job.adapter_path);
  }
  v.base_model = job.base_model;
  v.base_digest = job.base_digest;
  v.dataset_version_id = job.dataset_version_id;
  if (job.dataset_version_id)
    if (auto d = db::DatasetVersions(db).find(user_id, *job.dataset_version_id))
      v.dataset_hash = d->content_hash;
  v.hyperparameters = job.hyperparameters;
  v.eval_results = job.eval_results;
  db::ModelVersion deployed = db::ModelVersions(db).deploy(v);
  db::JobEvents(db).add(job.id, "info",
                        "deployed as version " + std::to_string(deployed.version) +
                            (force ? " (forced past the evaluation gate)" : ""));
  audit(db, by_user, "training.deploy", job.base_model,
        {{"job_id", job.id}, {"version", deployed.version}, {"forced", force}});
  return deployed;
}

int rollback(const db::Database& db, std::int64_t user_id, std::int64_t personal_model_id,
             std::optional<std::int64_t> by_user) {
  auto row = db::PersonalModels(db).find(personal_model_id);
  if (!row || row->user_id != user_id)
    throw Error(ErrorKind::not_found,
                "personal model " + std::to_string(personal_model_id) + " not found");
  const int from = row->fine_tune_version;
  const int now = db::ModelVersions(db).rollback(personal_model_id);
  audit(db, by_user, "training.rollback", row->custom_name, {{"from", from}, {"to", now}});
  return now;
}

json::object job_json(const db::TrainingJob& j, const std::string& model_name) {
  json::object o{{"id", j.id},
                 {"object", "training.job"},
                 {"model", model_name},
                 {"personal_model_id", j.model_id},
                 {"status", db::to_string(j.status)},
                 {"progress", j.training_progress},
                 {"estimated_completion", time_or_null(j.estimated_completion)},
                 {"error", j.error_message.empty() ? json::value(nullptr)
                                                   : json::value(json::string(j.error_message))},
                 {"training_examples", j.training_data_size},
                 {"dataset_version_id", j.dataset_version_id ? json::value(*j.dataset_version_id)
                                                             : json::value(nullptr)},
                 {"hyperparameters", detail::object_of(j.hyperparameters)},
                 {"metrics", detail::object_of(j.training_metrics)},
                 {"eval", detail::object_of(j.eval_results)},
                 {"trainer", j.trainer},
                 {"remote_job_id", j.remote_job_id.empty() ? json::value(nullptr)
                                                           : json::value(json::string(j.remote_job_id))},
                 {"origin", j.origin},
                 {"base_model", j.base_model},
                 {"base_digest", j.base_digest},
                 {"init_version", j.init_version},
                 {"cancel_requested", j.cancel_requested},
                 {"created_at", db::format_time(j.created_at)},
                 {"started_at", time_or_null(j.started_at)},
                 {"completed_at", time_or_null(j.completed_at)},
                 {"deployed_version", j.deployed_version ? json::value(*j.deployed_version)
                                                         : json::value(nullptr)}};
  if (j.deployed_version)
    o["fine_tuned_model"] = model_name + "@v" + std::to_string(*j.deployed_version);
  else
    o["fine_tuned_model"] = nullptr;
  return o;
}

json::object version_json(const db::ModelVersion& v, int served_version) {
  return {{"version", v.version},
          {"serving", v.version == served_version},
          {"job_id", v.job_id ? json::value(*v.job_id) : json::value(nullptr)},
          {"adapter_digest", v.adapter_digest},
          {"base_model", v.base_model},
          {"base_digest", v.base_digest},
          {"dataset_version_id",
           v.dataset_version_id ? json::value(*v.dataset_version_id) : json::value(nullptr)},
          {"dataset_hash", v.dataset_hash},
          {"hyperparameters", detail::object_of(v.hyperparameters)},
          {"eval", detail::object_of(v.eval_results)},
          {"previous_version", v.previous_version},
          {"remote_model", v.remote_model},
          {"remote_base_url", v.remote_base_url},
          {"created_at", db::format_time(v.created_at)}};
}

}  // namespace hearth::loop
