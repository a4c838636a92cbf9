// The personal loop's routes (loop/loop.h), each scoped to the caller; another user's job or
// model answers 404 exactly as a missing one:
//   POST /api/training/start-job              {"model", "dataset_version"?, "hyperparameters"?,
//                                              "method"?, "trainer"?: "local" | "openai",
//                                              "remote_model"?} -> 201 + the job; 400 with
//                                              {"error", "qualifying", "needed"} for too little data
//   POST /api/training/plan                   the same body -> what the job would take, before
//                                              it starts (loop/estimate.h): examples, tokens,
//                                              settings, memory plan against what is available,
//                                              estimated_seconds (null when unknown) and its basis
//   GET  /api/training/jobs                   {"jobs": [...]} newest first
//   GET  /api/training/jobs/{id}              the job with its live progress (step, loss,
//                                              tokens_per_second, estimated_completion, eval)
//   POST /api/training/jobs/{id}/cancel       the job (cancelled, or cancel_requested while the
//                                              step in flight ends)
//   GET  /api/training/jobs/{id}/events       Server-Sent Events: every event so far, then new
//                                              ones as they come, until the job ends
//                                              (?after=ID skips those already seen)
//   POST /api/training/deploy                 {"job_id", "force"?} -> the new version
//   GET  /api/personal-models/{id}/versions   {"served_version", "versions": [...]}
//   POST /api/personal-models/{id}/rollback   {"id", "served_version"}
//   GET  /api/personal-models/{id}/compare    [?job_id=N] the evaluation of that job (default:
//                                              the newest evaluated one): figures and side-by-side
//                                              answers of base and tuned
//   GET  /api/personal-models/{id}/schedule   the weekly schedule (loop/schedule.h) and its next
//                                              window; {"enabled": false} when there is none
//   PUT  /api/personal-models/{id}/schedule   {"enabled"?: true, "window"?: "sunday 02:00-06:00",
//                                              "time_zone"?: "UTC"} (IANA names)
//   DELETE /api/personal-models/{id}/schedule
#include <algorithm>
#include <atomic>
#include <charconv>
#include <thread>

#include "core/log.h"
#include "core/paths.h"
#include "loop/estimate.h"
#include "loop/loop.h"
#include "loop/runner.h"
#include "loop/schedule.h"
#include "loop/weekly_window.h"
#include "core/time_zone.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

std::int64_t positive_id(std::string_view text, const std::string& what) {
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || id <= 0)
    throw Error(ErrorKind::invalid_input, what + " '" + std::string(text) + "' must be a positive integer");
  return id;
}

// The personal model's name for a job (its row's custom_name; the base's name when it is gone).
std::string model_name(ApiContext& api, const db::TrainingJob& j) {
  if (auto row = db::PersonalModels(api.db).find(j.model_id)) return row->custom_name;
  return j.base_model;
}

json::object job_answer(ApiContext& api, const db::TrainingJob& j) {
  json::object o = loop::job_json(j, model_name(api, j));
  // A failure's text may name the server's files: those stay in its log.
  if (!j.error_message.empty()) o["error"] = public_message(j.error_message);
  return o;
}

db::PersonalModel own_model(ApiContext& api, const Request& r) {
  const std::int64_t id = positive_id(r.param("id"), "personal model id");
  auto row = db::PersonalModels(api.db).find(id);
  if (!row || row->user_id != r.caller.user_id)
    throw Error(ErrorKind::not_found, "personal model " + std::to_string(id) + " not found");
  return *row;
}

// Runs `work` (returning the answer) on the API's background thread: counting, exporting and
// tokenizing the data read every conversation, which the I/O thread must not wait for. Too
// little data answers 400 with the counts.
template <class Work>
Response off_the_io_thread(ApiContext& api, const Request& r, std::string doing, Work work) {
  auto out = std::make_shared<ResponseStream>();
  api.background.submit([out, work = std::move(work), path = r.path(), doing = std::move(doing)] {
    try {
      out->respond(work());
    } catch (const loop::NotEnoughData& e) {
      json::object o{{"error", e.what()}, {"qualifying", e.qualifying}, {"needed", e.needed}};
      out->respond(json_response(o, 400));
    } catch (const std::exception& e) {
      out->respond(failure_response(path, e, doing));
    }
  });
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

// The model and dataset a start-job or plan body names.
void read_job_target(const json::object& body, std::string& model,
                     std::optional<std::int64_t>& dataset_version_id) {
  model = opt_string(body, "model").value_or("");
  if (model.empty())
    throw Error(ErrorKind::invalid_input, "field 'model' is required: your personal model's name");
  if (auto v = opt_int(body, "dataset_version")) dataset_version_id = *v;
  else if (auto id = opt_int(body, "dataset_version_id")) dataset_version_id = *id;
}

Response start_job(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  loop::StartJob job;
  read_job_target(body, job.model, job.dataset_version_id);
  job.hyperparameters = loop::parse_hyperparameters(body);
  job.trainer = opt_string(body, "trainer").value_or("local");
  job.remote_model = opt_string(body, "remote_model").value_or("");
  job.datasets_dir = paths::home() / "datasets" / std::to_string(r.caller.user_id);
  const std::int64_t user = r.caller.user_id;
  ApiContext* ctx = &api;
  return off_the_io_thread(api, r, "starting a training job for user " + std::to_string(user),
                           [job, user, ctx] {
                             const db::TrainingJob created =
                                 loop::start_job(ctx->db, ctx->library, user, user, job);
                             if (ctx->training) ctx->training->wake();
                             return json_response(job_answer(*ctx, created), 201);
                           });
}

json::object estimate_json(const loop::JobEstimate& e) {
  const auto& m = e.memory;
  json::object memory{{"peak", m.peak()},         {"weights", m.weights},
                      {"adapter", m.adapter},     {"gradients", m.gradients},
                      {"optimizer", m.optimizer}, {"activations", m.activations},
                      {"logits", m.logits},       {"working", m.working},
                      {"recompute", m.recompute}};
  return {{"model", e.model},
          {"examples", e.examples},
          {"tokens", e.tokens},
          {"longest_example_tokens", e.longest},
          {"trained_tokens", e.trained_tokens},
          {"epochs", e.settings.epochs},
          {"steps", e.settings.steps},
          {"hyperparameters", loop::to_json(e.settings)},
          {"memory", std::move(memory)},
          {"available_memory", e.available > 0 ? json::value(e.available) : json::value(nullptr)},
          {"fits", e.fits},
          {"estimated_seconds", e.seconds ? json::value(*e.seconds) : json::value(nullptr)},
          {"basis", e.basis}};
}

Response plan_job(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  loop::EstimateJob job;
  read_job_target(body, job.model, job.dataset_version_id);
  job.hyperparameters = loop::parse_hyperparameters(body);
  const loop::RunnerSettings settings = loop::RunnerSettings::from_config();
  job.memory_budget = settings.memory_budget;
  job.threads = settings.threads > 0
                    ? settings.threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
  job.scratch_dir = paths::home() / "datasets" / std::to_string(r.caller.user_id);
  const std::int64_t user = r.caller.user_id;
  ApiContext* ctx = &api;
  return off_the_io_thread(api, r, "estimating a training job for user " + std::to_string(user),
                           [job, user, ctx] {
                             return json_response(estimate_json(
                                 loop::estimate_job(ctx->db, ctx->library, user, job)));
                           });
}

Response list_jobs(ApiContext& api, const Request& r) {
  json::array jobs;
  for (const db::TrainingJob& j : db::TrainingJobs(api.db).list(r.caller.user_id))
    jobs.push_back(job_answer(api, j));
  return json_response(json::object{{"jobs", std::move(jobs)}});
}

Response get_job(ApiContext& api, const Request& r) {
  const auto j = loop::user_job(api.db, r.caller.user_id, positive_id(r.param("id"), "job id"));
  json::object o = job_answer(api, j);
  o["training_now"] = api.training && api.training->current_job() == j.id;
  return json_response(o);
}

Response cancel_job(ApiContext& api, const Request& r) {
  const auto j = loop::user_job(api.db, r.caller.user_id, positive_id(r.param("id"), "job id"));
  db::TrainingJobs(api.db).request_cancel(j.id);
  loop::audit(api.db, r.caller.user_id, "training.cancel", j.base_model, {{"job_id", j.id}});
  if (api.training) api.training->wake();
  return json_response(job_answer(api, *db::TrainingJobs(api.db).find(j.id)));
}

std::string sse_event(const db::JobEvent& e) {
  json::object o{{"id", e.id},
                 {"level", e.level},
                 {"message", public_message(e.message)},
                 {"data", json::parse(e.data)},
                 {"created_at", db::format_time(e.created_at)}};
  return "id: " + std::to_string(e.id) + "\ndata: " + json_text(o) + "\n\n";
}

// Open event streams, all users together: each holds a thread that polls the database.
std::atomic<int> open_event_streams{0};
constexpr int kMaxEventStreams = 64;

Response job_events(ApiContext& api, const Request& r) {
  const auto j = loop::user_job(api.db, r.caller.user_id, positive_id(r.param("id"), "job id"));
  if (open_event_streams.fetch_add(1) >= kMaxEventStreams) {
    open_event_streams.fetch_sub(1);
    throw Error(ErrorKind::unavailable, "too many event streams are open; poll "
                                        "GET /api/training/jobs/{id} instead or try again later");
  }
  std::int64_t after = 0;
  if (const std::string a = r.query("after"); !a.empty()) after = positive_id(a, "after");
  auto out = std::make_shared<ResponseStream>();
  const db::Database database = api.db;
  const std::int64_t job_id = j.id;
  auto stream = [out, database, job_id, after](const std::function<bool()>& stopping) {
    struct Count {
      ~Count() { open_event_streams.fetch_sub(1); }
    } count;
    std::int64_t last = after;
    out->start(200, "text/event-stream", {{"Cache-Control", "no-cache"}});
    try {
      for (;;) {
        // The status first: events written before it ended are then all read below.
        const auto job = db::TrainingJobs(database).find(job_id);
        const bool ended = !job || (job->status != db::JobStatus::queued &&
                                    job->status != db::JobStatus::running);
        for (const db::JobEvent& e : db::JobEvents(database).list(job_id, last)) {
          out->write(sse_event(e));
          last = e.id;
        }
        if (ended) {
          // What the runner writes just after the status (a deploy's outcome) comes too.
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          for (const db::JobEvent& e : db::JobEvents(database).list(job_id, last)) {
            out->write(sse_event(e));
            last = e.id;
          }
          out->write("event: end\ndata: " +
                     json_text(json::object{{"status", job ? db::to_string(job->status) : "gone"}}) +
                     "\n\n");
          break;
        }
        for (int i = 0; i < 5 && !out->cancelled() && !stopping(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (out->cancelled() || stopping()) break;
      }
    } catch (const std::exception& e) {
      SPDLOG_WARN("events of training job {}: {}", job_id, e.what());
      out->write("event: error\ndata: " + json_text(json::object{{"error", "events stopped"}}) + "\n\n");
    }
    out->finish();
  };
  try {
    api.library.run_in_background(std::move(stream));
  } catch (...) {
    open_event_streams.fetch_sub(1);  // the stream never started
    throw;
  }
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

Response deploy(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  const auto job_id = opt_int(body, "job_id");
  if (!job_id) throw Error(ErrorKind::invalid_input, "field 'job_id' is required");
  const bool force = opt_bool(body, "force").value_or(false);
  const db::ModelVersion v = loop::deploy_job(api.db, r.caller.user_id, *job_id, force, r.caller.user_id);
  api.library.forget_served_versions(r.caller.user_id);
  const auto row = db::PersonalModels(api.db).find(v.personal_model_id);
  json::object o = loop::version_json(v, row ? row->fine_tune_version : v.version);
  o["personal_model_id"] = v.personal_model_id;
  o["model"] = row ? row->custom_name : v.base_model;
  return json_response(o, 201);
}

Response versions(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  json::array list;
  for (const db::ModelVersion& v : db::ModelVersions(api.db).list(row.id))
    list.push_back(loop::version_json(v, row.fine_tune_version));
  return json_response(json::object{{"id", row.id},
                                    {"model", row.custom_name},
                                    {"served_version", row.fine_tune_version},
                                    {"versions", std::move(list)}});
}

Response rollback(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  const int now = loop::rollback(api.db, r.caller.user_id, row.id, r.caller.user_id);
  api.library.forget_served_versions(r.caller.user_id);
  return json_response(json::object{{"id", row.id}, {"model", row.custom_name}, {"served_version", now}});
}

Response compare(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  std::optional<db::TrainingJob> job;
  if (const std::string q = r.query("job_id"); !q.empty()) {
    job = loop::user_job(api.db, r.caller.user_id, positive_id(q, "job_id"));
    if (job->model_id != row.id)
      throw Error(ErrorKind::not_found, "training job " + q + " is not one of this model's");
  } else {
    for (const db::TrainingJob& j : db::TrainingJobs(api.db).list_for_model(row.id))
      if (j.eval_results.size() > 2) {
        job = j;
        break;
      }
  }
  if (!job || job->eval_results.size() <= 2)
    throw Error(ErrorKind::not_found,
                "'" + row.custom_name + "' has no evaluated training job to compare yet");
  json::object o = job_answer(api, *job);
  return json_response(json::object{{"id", row.id},
                                    {"model", row.custom_name},
                                    {"served_version", row.fine_tune_version},
                                    {"job_id", job->id},
                                    {"deployed_version", o.at("deployed_version")},
                                    {"eval", o.at("eval")}});
}

json::object schedule_json(const db::PersonalModel& row, const std::optional<db::TrainingSchedule>& s) {
  json::object o{{"id", row.id}, {"model", row.custom_name}, {"enabled", s && s->enabled}};
  if (!s) return o;
  auto time = [](const std::optional<db::Timestamp>& t) {
    return t ? json::value(json::string(db::format_time(*t))) : json::value(nullptr);
  };
  o["window"] = s->window;
  o["time_zone"] = s->time_zone;
  o["last_window_start"] = time(s->last_window_start);
  o["last_data_at"] = time(s->last_data_at);
  o["last_job_id"] = s->last_job_id ? json::value(*s->last_job_id) : json::value(nullptr);
  o["last_outcome"] = public_message(s->last_outcome);
  try {
    const auto now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    const loop::Window next = loop::next_window(loop::parse_weekly_window(s->window, s->time_zone),
                                                TimeZone::load(s->time_zone), now);
    o["next_window"] = json::object{
        {"start", db::format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(next.start))},
        {"end", db::format_time(std::chrono::time_point_cast<std::chrono::milliseconds>(next.end))}};
  } catch (const std::exception&) {
    o["next_window"] = nullptr;
  }
  return o;
}

Response get_schedule(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  return json_response(schedule_json(row, db::TrainingSchedules(api.db).find(row.id)));
}

Response put_schedule(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  const json::object body = parse_body_object(r.body);
  const auto current = db::TrainingSchedules(api.db).find(row.id);
  const bool enabled = opt_bool(body, "enabled").value_or(true);
  const std::string zone =
      opt_string(body, "time_zone").value_or(current ? current->time_zone : "UTC");
  const std::string window = loop::check_schedule(
      opt_string(body, "window").value_or(current ? current->window : "sunday 02:00-06:00"), zone);
  const auto s = db::TrainingSchedules(api.db).put(r.caller.user_id, row.id, enabled, window, zone);
  loop::audit(api.db, r.caller.user_id, "training.schedule", row.custom_name,
              {{"enabled", enabled}, {"window", window}, {"time_zone", zone}});
  if (api.training) api.training->wake();
  return json_response(schedule_json(row, s));
}

Response delete_schedule(ApiContext& api, const Request& r) {
  const db::PersonalModel row = own_model(api, r);
  const bool removed = db::TrainingSchedules(api.db).remove(row.id);
  if (removed)
    loop::audit(api.db, r.caller.user_id, "training.schedule", row.custom_name, {{"removed", true}});
  return json_response(json::object{{"id", row.id}, {"deleted", removed}});
}

}  // namespace

void add_training_routes(Router& router, ApiContext& api) {
  router.add("POST", "/api/training/start-job", [&api](const Request& r) { return start_job(api, r); });
  router.add("POST", "/api/training/plan", [&api](const Request& r) { return plan_job(api, r); });
  router.add("GET", "/api/training/jobs", [&api](const Request& r) { return list_jobs(api, r); });
  router.add("GET", "/api/training/jobs/{id}", [&api](const Request& r) { return get_job(api, r); });
  router.add("POST", "/api/training/jobs/{id}/cancel",
             [&api](const Request& r) { return cancel_job(api, r); });
  router.add("GET", "/api/training/jobs/{id}/events",
             [&api](const Request& r) { return job_events(api, r); });
  router.add("POST", "/api/training/deploy", [&api](const Request& r) { return deploy(api, r); });
  router.add("GET", "/api/personal-models/{id}/versions",
             [&api](const Request& r) { return versions(api, r); });
  router.add("POST", "/api/personal-models/{id}/rollback",
             [&api](const Request& r) { return rollback(api, r); });
  router.add("GET", "/api/personal-models/{id}/compare",
             [&api](const Request& r) { return compare(api, r); });
  router.add("GET", "/api/personal-models/{id}/schedule",
             [&api](const Request& r) { return get_schedule(api, r); });
  router.add("PUT", "/api/personal-models/{id}/schedule",
             [&api](const Request& r) { return put_schedule(api, r); });
  router.add("DELETE", "/api/personal-models/{id}/schedule",
             [&api](const Request& r) { return delete_schedule(api, r); });
}

}  // namespace hearth::server
