// See remote_job.h.
#include "loop/remote_job.h"

#include <algorithm>
#include <set>
#include <thread>

#include <boost/json.hpp>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "db/conversations.h"
#include "db/training.h"
#include "loop/hyperparameters.h"
#include "loop/internal.h"
#include "loop/loop.h"
#include "loop/remote_http.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

constexpr int kFailuresInARow = 3;  // polls that may fail before the job does

std::string text_of(const json::object& o, std::string_view key) {
  if (const auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return {};
}

std::optional<double> number_of(const json::object& o,
                                std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys)
    if (const auto* v = o.if_contains(k); v && v->is_number()) return v->to_number<double>();
  return std::nullopt;
}

// The remote's hyperparameters: only those the user set (the remote picks the rest).
json::object remote_hyperparameters(const Hyperparameters& h) {
  json::object o;
  if (h.n_epochs) o["n_epochs"] = *h.n_epochs;
  if (h.batch_size) o["batch_size"] = *h.batch_size;
  if (h.learning_rate_multiplier) o["learning_rate_multiplier"] = *h.learning_rate_multiplier;
  // hearth's own names, for a remote that is a hearth server; set only when the user asked.
  if (h.rank) o["rank"] = *h.rank;
  if (h.alpha) o["alpha"] = *h.alpha;
  if (h.learning_rate) o["learning_rate"] = *h.learning_rate;
  if (h.max_steps) o["max_steps"] = *h.max_steps;
  return o;
}

struct RemoteRun {
  const db::Database& db;
  const RunnerSettings& settings;
  db::TrainingJob job;
  const std::atomic<bool>& stopping;
  db::TrainingJobs jobs{db};
  db::JobEvents events{db};
  json::object metrics{};
  json::array curve{};
  std::set<std::string> seen{};  // remote event ids already copied into the job's events

  void event(const std::string& message, const json::object& data = {},
             const std::string& level = "info") {
    detail::record_event(db, job.id, level, message, data);
  }

  void run();
  void create_remote(const RemoteApi& api, const json::object& hyper);
  void copy_events(const json::value& list);
  json::object evaluation(const json::object& remote) const;
};

void RemoteRun::create_remote(const RemoteApi& api, const json::object& hyper) {
  if (!job.dataset_version_id)
    throw Error(ErrorKind::invalid_input, "the job names no dataset version");
  const auto dataset = db::DatasetVersions(db).find(job.user_id, *job.dataset_version_id);
  if (!dataset)
    throw Error(ErrorKind::not_found,
                "dataset version " + std::to_string(*job.dataset_version_id) + " is gone");
  const json::value train = api.upload("/files", dataset->train_path, "fine-tune");
  json::object request{{"model", text_of(hyper, "remote_model")},
                       {"training_file", train.at("id")}};
  if (!dataset->validation_path.empty() && dataset->validation_examples > 0)
    request["validation_file"] =
        api.upload("/files", dataset->validation_path, "fine-tune").at("id");
  const auto* asked = hyper.if_contains("requested");
  const json::object h = remote_hyperparameters(
      asked && asked->is_object() ? read_hyperparameters(asked->as_object()) : Hyperparameters{});
  if (!h.empty()) request["hyperparameters"] = h;
  if (!job.suffix.empty()) request["suffix"] = job.suffix;
  const json::value created = api.post("/fine_tuning/jobs", request);
  job.remote_job_id = text_of(created.as_object(), "id");
  if (job.remote_job_id.empty())
    throw Error(ErrorKind::unavailable,
                api.base_url() + " created a fine-tuning job without an id");
  jobs.set_remote_job_id(job.id, job.remote_job_id);
  event("remote job " + job.remote_job_id + " created at " + api.base_url() + " on '" +
            text_of(hyper, "remote_model") + "'",
        {{"remote_job_id", job.remote_job_id}, {"request", request}});
}

void RemoteRun::copy_events(const json::value& list) {
  const auto* data = list.is_object() ? list.as_object().if_contains("data") : nullptr;
  if (!data || !data->is_array()) return;
  std::vector<json::object> fresh;
  for (const json::value& e : data->as_array())
    if (e.is_object() && !seen.contains(text_of(e.as_object(), "id")))
      fresh.push_back(e.as_object());
  // OpenAI lists the newest first: oldest first here (the remote's order kept for equal times).
  if (fresh.size() > 1 && number_of(fresh.front(), {"created_at"}).value_or(0) >
                              number_of(fresh.back(), {"created_at"}).value_or(0))
    std::reverse(fresh.begin(), fresh.end());
  std::stable_sort(fresh.begin(), fresh.end(), [](const json::object& a, const json::object& b) {
    return number_of(a, {"created_at"}).value_or(0) < number_of(b, {"created_at"}).value_or(0);
  });
  for (const json::object& e : fresh) {
    const std::string id = text_of(e, "id");
    seen.insert(id);
    json::object d{{"remote_event_id", id}};
    const auto* figures = e.if_contains("data");
    if (figures && figures->is_object()) {
      const json::object& f = figures->as_object();
      d["remote"] = f;
      if (auto step = number_of(f, {"step"})) {
        json::object point{{"step", static_cast<std::int64_t>(*step)}};
        if (auto loss = number_of(f, {"train_loss", "loss"})) point["loss"] = *loss;
        if (auto eval = number_of(f, {"full_valid_loss", "valid_loss", "eval_loss"}))
          point["eval_loss"] = *eval;
        if (point.size() > 1) {
          curve.push_back(point);
          metrics["step"] = point.at("step");
          if (point.contains("loss")) metrics["loss"] = point.at("loss");
          if (point.contains("eval_loss")) metrics["eval_loss"] = point.at("eval_loss");
          metrics["loss_curve"] = curve;
        }
        if (auto total = number_of(f, {"total_steps"}))
          metrics["total_steps"] = static_cast<std::int64_t>(*total);
      }
    }
    const std::string level = text_of(e, "level");
    event("remote: " + text_of(e, "message"), d,
          level == "error" || level == "warn" ? level : "info");
  }
}

// The gate's figures for a remote job (loop.h): the remote's first and last validation losses.
json::object RemoteRun::evaluation(const json::object& remote) const {
  json::object eval{
      {"metric", "remote_validation_loss"},
      {"remote", json::object{{"base_url", ""},
                              {"job_id", job.remote_job_id},
                              {"fine_tuned_model", text_of(remote, "fine_tuned_model")}}}};
  std::optional<double> first, last;
  int figures = 0;
  for (const json::value& p : curve)
    if (auto v = number_of(p.as_object(), {"eval_loss"})) {
      if (!first) first = v;
      last = v;
      ++figures;
    }
  if (figures >= 2) {
    eval["first_validation_loss"] = *first;
    eval["final_validation_loss"] = *last;
    eval["better"] = *last < *first;
  } else {
    eval["better"] = false;
    eval["why"] = "the remote reported no validation losses to compare; deploy with force";
  }
  return eval;
}

void RemoteRun::run() {
  jobs.start(job.id);
  audit(db, job.started_by, "training.run", job.base_model,
        {{"job_id", job.id}, {"trainer", "openai"}});
  const auto access = remote_access(db, job.user_id);
  if (!access)
    throw Error(ErrorKind::invalid_input,
                "you have no remote trainer settings (PUT /api/training/remote) for this job");
  const RemoteApi api(*access, [this] { return stopping.load(); });
  metrics = detail::object_of(job.training_metrics);
  if (auto* c = metrics.if_contains("loss_curve"); c && c->is_array()) curve = c->as_array();
  for (const db::JobEvent& e : events.list(job.id, 0, 1'000'000))
    if (auto id = text_of(detail::object_of(e.data), "remote_event_id"); !id.empty())
      seen.insert(id);
  const json::object hyper = detail::object_of(job.hyperparameters);
  if (job.remote_job_id.empty()) {
    if (jobs.cancel_requested(job.id)) {
      jobs.cancel(job.id);
      event("cancelled before the remote job was created");
      return;
    }
    create_remote(api, hyper);
  } else {
    event("polling remote job " + job.remote_job_id + " again after a restart");
  }

  const std::string at = "/fine_tuning/jobs/" + job.remote_job_id;
  int failures = 0;
  bool cancel_sent = false;
  while (!stopping) {
    json::object remote;
    try {
      if (!cancel_sent && jobs.cancel_requested(job.id)) {
        api.post(at + "/cancel", json::object{});
        cancel_sent = true;
        event("cancel sent to remote job " + job.remote_job_id);
      }
      remote = api.get(at).as_object();
      copy_events(api.get(at + "/events?limit=100"));
      failures = 0;
    } catch (const Error& e) {
      if (++failures >= kFailuresInARow) throw;
      SPDLOG_WARN("training job {}: remote poll failed ({} in a row): {}", job.id, failures,
                  e.what());
      std::this_thread::sleep_for(settings.remote_poll);
      continue;
    }
    const std::string status = text_of(remote, "status");
    metrics["remote_status"] = status;
    if (status == "succeeded") {
      json::object eval = evaluation(remote);
      eval["remote"].as_object()["base_url"] = api.base_url();
      if (text_of(remote, "fine_tuned_model").empty())
        throw Error(ErrorKind::unavailable, "remote job " + job.remote_job_id +
                                                " succeeded without naming its fine_tuned_model");
      jobs.set_eval_results(job.id, format_json(eval));
      jobs.finish(job.id, format_json(metrics));
      event("completed at the remote as " + text_of(remote, "fine_tuned_model"),
            {{"fine_tuned_model", text_of(remote, "fine_tuned_model")},
             {"better", eval.at("better")}});
      audit(db, job.started_by, "training.finish", job.base_model,
            {{"job_id", job.id}, {"status", "completed"}, {"trainer", "openai"}});
      return;
    }
    if (status == "failed") {
      std::string why = "no reason given";
      if (const auto* e = remote.if_contains("error"); e && e->is_object())
        if (auto m = text_of(e->as_object(), "message"); !m.empty()) why = m;
      throw Error(ErrorKind::unavailable,
                  "remote job " + job.remote_job_id + " at " + api.base_url() + " failed: " + why);
    }
    if (status == "cancelled") {
      jobs.cancel(job.id);
      event(cancel_sent ? "cancelled" : "cancelled at the remote");
      audit(db, job.started_by, "training.finish", job.base_model,
            {{"job_id", job.id}, {"status", "cancelled"}, {"trainer", "openai"}});
      return;
    }
    double percent = 5;
    if (status == "running") {
      const double step = number_of(metrics, {"step"}).value_or(0);
      const double total = number_of(metrics, {"total_steps"}).value_or(0);
      percent = total > 0 ? 5 + 90 * std::min(1.0, step / total) : 10;
    }
    jobs.update_progress(job.id, percent, std::nullopt, format_json(metrics));
    std::this_thread::sleep_for(settings.remote_poll);
  }
}

}  // namespace

void run_remote_job(const db::Database& db, const RunnerSettings& settings,
                    const db::TrainingJob& job, const std::atomic<bool>& stopping) {
  RemoteRun r{db, settings, job, stopping};
  try {
    r.run();
  } catch (const std::exception& e) {
    if (stopping) {  // cut short by the server stopping, not by the remote: resumes at the start
      r.event(std::string("paused while the server stops (") + e.what() +
              "); it resumes when the server starts again");
      return;
    }
    detail::record_failure(db, job, e, {{"trainer", "openai"}});
  }
}

}  // namespace hearth::loop
