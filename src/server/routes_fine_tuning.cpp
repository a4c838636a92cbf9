// OpenAI's fine-tuning API, backed by hearth's own trainer (loop/), so that the official clients
// train a local model:
//   POST /v1/fine_tuning/jobs               {"model", "training_file", "validation_file"?,
//                                            "hyperparameters"? | "method"?, "suffix"?}
//   GET  /v1/fine_tuning/jobs[?limit&after]  {"object": "list", "data", "has_more"}, newest first
//   GET  /v1/fine_tuning/jobs/{id}
//   GET  /v1/fine_tuning/jobs/{id}/events   newest first, as OpenAI lists them
//   POST /v1/fine_tuning/jobs/{id}/cancel
// "model" is one of the caller's personal models; the files are the caller's uploads (/v1/files).
// Job ids are "ftjob-<n>" (the job's id in /api/training/jobs), events "ftevent-<n>". A succeeded
// job's fine_tuned_model, "ft:<base>:<user>:<suffix>:<n>", is a model name for
// /v1/chat/completions (library.h): the job's adapter on its base, whether or not it is deployed
// as the personal model's version.
#include <charconv>
#include <fstream>

#include "core/json_text.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "crypto/sealed_file.h"
#include "data/data.h"
#include "db/conversations.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "server/api.h"
#include "core/log.h"
#include "server/json_util.h"
#include "server/response_stream.h"
#include "server/uploads.h"

namespace hearth::server {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kMinimumUploadedExamples = 10;  // OpenAI's own minimum

std::int64_t job_id_of(std::string_view public_id) {
  std::int64_t id = 0;
  const std::string_view digits =
      public_id.starts_with("ftjob-") ? public_id.substr(6) : std::string_view();
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || id <= 0)
    throw Error(ErrorKind::not_found, "fine-tuning job '" + std::string(public_id) + "' not found");
  return id;
}

std::int64_t unix_seconds(db::Timestamp t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json::value unix_or_null(const std::optional<db::Timestamp>& t) {
  return t ? json::value(unix_seconds(*t)) : json::value(nullptr);
}

std::string openai_status(db::JobStatus s) {
  switch (s) {
    case db::JobStatus::queued: return "queued";
    case db::JobStatus::running: return "running";
    case db::JobStatus::completed: return "succeeded";
    case db::JobStatus::failed: return "failed";
    case db::JobStatus::cancelled: return "cancelled";
  }
  return "failed";
}

std::string fine_tuned_name(ApiContext& api, const db::TrainingJob& j) {
  std::string user = "user";
  if (auto u = db::Users(api.db).find(j.user_id)) user = u->username;
  return "ft:" + j.base_model + ":" + user + ":" + j.suffix + ":" + std::to_string(j.id);
}

json::object job_object(ApiContext& api, const db::TrainingJob& j) {
  json::value training_file = nullptr, validation_file = nullptr;
  if (j.dataset_version_id)
    if (auto d = db::DatasetVersions(api.db).find(j.user_id, *j.dataset_version_id)) {
      const auto filter = parse_json(d->filter);
      if (filter && filter->is_object()) {
        if (auto* f = filter->as_object().if_contains("training_file")) training_file = *f;
        if (auto* f = filter->as_object().if_contains("validation_file")) validation_file = *f;
      }
    }
  json::object hyper{{"n_epochs", "auto"}, {"batch_size", "auto"}, {"learning_rate_multiplier", "auto"}};
  const auto stored = parse_json(j.hyperparameters);
  if (stored && stored->is_object()) {
    if (auto* used = stored->as_object().if_contains("used"); used && used->is_object()) {
      hyper["n_epochs"] = used->as_object().at("n_epochs");
      hyper["batch_size"] = used->as_object().at("batch_size");
      hyper["learning_rate_multiplier"] =
          used->as_object().at("learning_rate").to_number<double>() / loop::kBaseLearningRate;
    } else if (auto* asked = stored->as_object().if_contains("requested"); asked && asked->is_object()) {
      for (const char* k : {"n_epochs", "batch_size", "learning_rate_multiplier"})
        if (auto* v = asked->as_object().if_contains(k)) hyper[k] = *v;
    }
  }
  json::value trained_tokens = nullptr;
  if (const auto m = parse_json(j.training_metrics); m && m->is_object())
    if (auto* t = m->as_object().if_contains("tokens")) trained_tokens = *t;
  json::value error = nullptr;
  if (j.status == db::JobStatus::failed)
    error = json::object{{"code", "training_failed"}, {"message", public_message(j.error_message)}, {"param", nullptr}};
  return {{"id", "ftjob-" + std::to_string(j.id)},
          {"object", "fine_tuning.job"},
          {"model", j.base_model},
          {"created_at", unix_seconds(j.created_at)},
          {"finished_at", unix_or_null(j.completed_at)},
          {"estimated_finish", unix_or_null(j.estimated_completion)},
          {"fine_tuned_model", j.status == db::JobStatus::completed
                                   ? json::value(json::string(fine_tuned_name(api, j)))
                                   : json::value(nullptr)},
          {"organization_id", "user-" + std::to_string(j.user_id)},
          {"result_files", json::array{}},
          {"status", openai_status(j.status)},
          {"training_file", training_file},
          {"validation_file", validation_file},
          {"hyperparameters", hyper},
          {"method", {{"type", "supervised"}, {"supervised", {{"hyperparameters", hyper}}}}},
          {"trained_tokens", trained_tokens},
          {"error", error},
          {"seed", 42},
          {"user_provided_suffix", j.suffix.empty() ? json::value(nullptr) : json::value(json::string(j.suffix))},
          {"integrations", json::array{}}};
}

// Counts the JSONL file's examples after checking it as chat fine-tuning data.
std::int64_t checked_examples(const fs::path& file, const std::string& public_id) {
  const data::ValidationReport report = data::validate_jsonl(file);
  if (!report.issues.empty()) {
    const auto& i = report.issues.front();
    throw Error(ErrorKind::invalid_input, public_id + " is not chat fine-tuning data: line " +
                                              std::to_string(i.line) + ": " + i.message);
  }
  return static_cast<std::int64_t>(report.examples.size());
}

// A dataset version made of the caller's uploads, copied beside the exported ones (a deleted
// upload leaves the job its data).
db::DatasetVersion dataset_from_uploads(ApiContext& api, std::int64_t user,
                                        const std::string& training, const std::string& validation) {
  const fs::path train_upload = uploaded_file_path(api.db, user, training);
  const std::int64_t n = checked_examples(train_upload, training);
  if (n < kMinimumUploadedExamples)
    throw Error(ErrorKind::invalid_input, training + " has " + std::to_string(n) +
                                              " examples; at least " +
                                              std::to_string(kMinimumUploadedExamples) + " are needed");
  std::int64_t held_out = 0;
  fs::path validation_upload;
  if (!validation.empty()) {
    validation_upload = uploaded_file_path(api.db, user, validation);
    held_out = checked_examples(validation_upload, validation);
  }
  const fs::path dir = paths::home() / "datasets" / std::to_string(user);
  fs::create_directories(dir);
  // Of the contents, not of the sealed bytes (which differ every time they are sealed).
  std::string hash_input = sha256_hex(crypto::read_file(train_upload));
  if (!validation_upload.empty()) hash_input += sha256_hex(crypto::read_file(validation_upload));
  const std::string hash = sha256_hex(hash_input);
  const std::string stem = "upload-" + hash.substr(0, 16);
  db::DatasetVersion v;
  v.user_id = user;
  v.content_hash = hash;
  v.train_examples = n;
  v.validation_examples = held_out;
  json::object filter{{"source", "upload"}, {"training_file", training}};
  if (!validation.empty()) filter["validation_file"] = validation;
  v.filter = format_json(filter);
  v.train_path = (dir / (stem + "-train.jsonl")).string();
  fs::copy_file(train_upload, v.train_path, fs::copy_options::overwrite_existing);
  if (!validation_upload.empty()) {
    v.validation_path = (dir / (stem + "-validation.jsonl")).string();
    fs::copy_file(validation_upload, v.validation_path, fs::copy_options::overwrite_existing);
  }
  return db::DatasetVersions(api.db).create(v);
}

Response create_job(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  loop::StartJob job;
  job.model = opt_string(body, "model").value_or("");
  const std::string training = opt_string(body, "training_file").value_or("");
  if (job.model.empty() || training.empty())
    throw Error(ErrorKind::invalid_input, "fields 'model' and 'training_file' are required");
  job.hyperparameters = loop::parse_hyperparameters(body);
  job.suffix = opt_string(body, "suffix").value_or("");
  if (job.suffix.size() > 64 || job.suffix.find(':') != std::string::npos)
    throw Error(ErrorKind::invalid_input, "'suffix' must be at most 64 characters without ':'");
  job.origin = "fine_tuning_api";
  job.uploaded_data = true;
  job.min_examples = kMinimumUploadedExamples;
  api.library.resolve(r.caller.user_id, job.model);  // an unknown model first, before any copy
  const std::string validation = opt_string(body, "validation_file").value_or("");
  auto out = std::make_shared<ResponseStream>();
  const std::string path = r.path();
  const std::int64_t user = r.caller.user_id;
  ApiContext* ctx = &api;
  // Checking, hashing and copying the uploads is no work for the I/O thread.
  api.background.submit([out, job, training, validation, path, user, ctx]() mutable {
    try {
      job.dataset_version_id = dataset_from_uploads(*ctx, user, training, validation).id;
      const db::TrainingJob created = loop::start_job(ctx->db, ctx->library, user, user, job);
      if (ctx->training) ctx->training->wake();
      out->respond(json_response(job_object(*ctx, created)));
    } catch (const std::exception& e) {
      out->respond(failure_response(path, e, "starting a fine-tuning job for user " + std::to_string(user)));
    }
  });
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

Response list_jobs(ApiContext& api, const Request& r) {
  std::int64_t limit = 20;
  if (const std::string l = r.query("limit"); !l.empty()) {
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > 100)
      throw Error(ErrorKind::invalid_input, "'limit' must be from 1 to 100");
  }
  const std::string after = r.query("after");
  const std::int64_t after_id = after.empty() ? 0 : job_id_of(after);
  json::array data;
  bool has_more = false;
  for (const db::TrainingJob& j : db::TrainingJobs(api.db).list(r.caller.user_id)) {
    if (after_id > 0 && j.id >= after_id) continue;
    if (static_cast<std::int64_t>(data.size()) == limit) {
      has_more = true;
      break;
    }
    data.push_back(job_object(api, j));
  }
  return json_response(json::object{{"object", "list"}, {"data", std::move(data)}, {"has_more", has_more}});
}

Response get_job(ApiContext& api, const Request& r) {
  return json_response(job_object(api, loop::user_job(api.db, r.caller.user_id, job_id_of(r.param("id")))));
}

Response cancel_job(ApiContext& api, const Request& r) {
  const auto j = loop::user_job(api.db, r.caller.user_id, job_id_of(r.param("id")));
  db::TrainingJobs(api.db).request_cancel(j.id);
  loop::audit(api.db, r.caller.user_id, "training.cancel", j.base_model, {{"job_id", j.id}});
  if (api.training) api.training->wake();
  return json_response(job_object(api, *db::TrainingJobs(api.db).find(j.id)));
}

Response job_events(ApiContext& api, const Request& r) {
  const auto j = loop::user_job(api.db, r.caller.user_id, job_id_of(r.param("id")));
  std::int64_t limit = 20;
  if (const std::string l = r.query("limit"); !l.empty()) {
    auto [end, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc() || end != l.data() + l.size() || limit < 1 || limit > 1000)
      throw Error(ErrorKind::invalid_input, "'limit' must be from 1 to 1000");
  }
  std::int64_t before = 0;  // "after" pages towards older events, as OpenAI's cursor does
  if (const std::string a = r.query("after"); a.starts_with("ftevent-"))
    std::from_chars(a.data() + 8, a.data() + a.size(), before);
  std::vector<db::JobEvent> all = db::JobEvents(api.db).list(j.id, 0, 100000);
  json::array data;
  bool has_more = false;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (before > 0 && it->id >= before) continue;
    if (static_cast<std::int64_t>(data.size()) == limit) {
      has_more = true;
      break;
    }
    json::object e{{"id", "ftevent-" + std::to_string(it->id)},
                   {"object", "fine_tuning.job.event"},
                   {"created_at", unix_seconds(it->created_at)},
                   {"level", it->level},
                   {"message", public_message(it->message)},
                   {"type", "message"}};
    if (const auto d = parse_json(it->data); d && d->is_object() && !d->as_object().empty())
      e["data"] = *d;
    data.push_back(std::move(e));
  }
  return json_response(json::object{{"object", "list"}, {"data", std::move(data)}, {"has_more", has_more}});
}

}  // namespace

void add_fine_tuning_routes(Router& router, ApiContext& api) {
  router.add("POST", "/v1/fine_tuning/jobs", [&api](const Request& r) { return create_job(api, r); });
  router.add("GET", "/v1/fine_tuning/jobs", [&api](const Request& r) { return list_jobs(api, r); });
  router.add("GET", "/v1/fine_tuning/jobs/{id}", [&api](const Request& r) { return get_job(api, r); });
  router.add("GET", "/v1/fine_tuning/jobs/{id}/events",
             [&api](const Request& r) { return job_events(api, r); });
  router.add("POST", "/v1/fine_tuning/jobs/{id}/cancel",
             [&api](const Request& r) { return cancel_job(api, r); });
}

}  // namespace hearth::server
