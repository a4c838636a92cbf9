// TrainingJobs: fine-tuning runs of a personal model, their progress, metrics and outcome.
#include <array>
#include <initializer_list>

#include "db/internal.h"
#include "db/sealing.h"

namespace hearth::db {
namespace {

constexpr std::array<std::string_view, 5> kStatusNames = {"queued", "running", "completed",
                                                          "failed", "cancelled"};

struct JobRow {
  long long id = 0, user_id = 0, model_id = 0, training_data_size = 0;
  std::string status, estimated_completion, error_message, training_metrics, created_at,
      completed_at;
  double training_progress = 0;
  soci::indicator estimate_ind = soci::i_ok, completed_ind = soci::i_ok;
  long long dataset_version_id = 0, started_by = 0;
  int cancel_requested = 0, init_version = 0, deployed_version = 0;
  std::string hyperparameters, eval_results, trainer, origin, started_at, base_model, base_digest,
      adapter_path, suffix, remote_job_id;
  soci::indicator dataset_ind = soci::i_ok, started_by_ind = soci::i_ok,
                  started_at_ind = soci::i_ok, deployed_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(model_id));
    st.exchange(soci::into(status));
    st.exchange(soci::into(training_data_size));
    st.exchange(soci::into(training_progress));
    st.exchange(soci::into(estimated_completion, estimate_ind));
    st.exchange(soci::into(error_message));
    st.exchange(soci::into(training_metrics));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(completed_at, completed_ind));
    st.exchange(soci::into(dataset_version_id, dataset_ind));
    st.exchange(soci::into(hyperparameters));
    st.exchange(soci::into(eval_results));
    st.exchange(soci::into(trainer));
    st.exchange(soci::into(origin));
    st.exchange(soci::into(started_by, started_by_ind));
    st.exchange(soci::into(started_at, started_at_ind));
    st.exchange(soci::into(cancel_requested));
    st.exchange(soci::into(base_model));
    st.exchange(soci::into(base_digest));
    st.exchange(soci::into(init_version));
    st.exchange(soci::into(adapter_path));
    st.exchange(soci::into(deployed_version, deployed_ind));
    st.exchange(soci::into(suffix));
    st.exchange(soci::into(remote_job_id));
  }

  TrainingJob get() const {
    TrainingJob j;
    j.id = id;
    j.user_id = user_id;
    j.model_id = model_id;
    j.status = job_status_from(status);
    j.training_data_size = training_data_size;
    j.training_progress = training_progress;
    j.estimated_completion = detail::read_time(estimated_completion, estimate_ind,
                                               "personal_model_training_jobs.estimated_completion");
    j.error_message = error_message;
    j.training_metrics = training_metrics;
    j.created_at = detail::read_time(created_at, "personal_model_training_jobs.created_at");
    j.completed_at =
        detail::read_time(completed_at, completed_ind, "personal_model_training_jobs.completed_at");
    if (dataset_ind == soci::i_ok) j.dataset_version_id = dataset_version_id;
    j.hyperparameters = hyperparameters;
    j.eval_results = eval_results;
    j.trainer = trainer;
    j.origin = origin;
    if (started_by_ind == soci::i_ok) j.started_by = started_by;
    j.started_at = detail::read_time(started_at, started_at_ind,
                                     "personal_model_training_jobs.started_at");
    j.cancel_requested = cancel_requested != 0;
    j.base_model = base_model;
    j.base_digest = base_digest;
    j.init_version = init_version;
    j.adapter_path = adapter_path;
    if (deployed_ind == soci::i_ok) j.deployed_version = deployed_version;
    j.suffix = suffix;
    j.remote_job_id = remote_job_id;
    return j;
  }
};

std::string select_list(const Database::Impl& db) {
  using detail::time_column;
  return "SELECT id, user_id, model_id, job_status, training_data_size, training_progress, " +
         time_column(db, "estimated_completion") + ", error_message, " +
         detail::json_column(db, "training_metrics") + ", " + time_column(db, "created_at") + ", " +
         time_column(db, "completed_at") + ", dataset_version_id, " +
         detail::json_column(db, "hyperparameters") + ", " +
         detail::json_column(db, "eval_results") + ", trainer, origin, started_by, " +
         time_column(db, "started_at") +
         ", cancel_requested, base_model, base_digest, init_version, adapter_path, "
         "deployed_version, suffix, remote_job_id FROM personal_model_training_jobs ";
}

// Evaluation answers are stored sealed (db/sealing.h).
std::vector<TrainingJob> opened(Database::Impl& db, soci::session& sql,
                                std::vector<TrainingJob> list) {
  for (TrainingJob& j : list) {
    j.eval_results = detail::open_json(db, sql, j.user_id, j.eval_results,
                                       "personal_model_training_jobs.eval_results");
    j.suffix = detail::open(db, sql, j.user_id, j.suffix, "personal_model_training_jobs.suffix");
  }
  return list;
}

std::string label(std::int64_t id) {
  return "training job " + std::to_string(id);
}

// Moves a job from one of `from` to `to` inside one transaction: reads its status, refuses
// (Error(conflict)) when it is not one of `from`, then runs `query` — an UPDATE whose first
// bound value is the new status and whose last two are the id and the status it had.
template <class... Uses>
void change(Database::Impl& db, std::int64_t id, std::initializer_list<JobStatus> from,
            JobStatus to, const std::string& query, Uses&&... uses) {
  long long key = id;
  std::string to_text(to_string(to));
  detail::in_transaction(db, label(id) + ": " + to_text, [&](soci::session& sql) {
    std::string current;
    soci::statement st =
        (sql.prepare << "SELECT job_status FROM personal_model_training_jobs WHERE id = :id",
         soci::into(current), soci::use(key));
    if (!st.execute(true)) throw Error(ErrorKind::not_found, label(id) + " does not exist");
    JobStatus status = job_status_from(current);
    bool allowed = false;
    for (JobStatus f : from) allowed = allowed || f == status;
    if (!allowed)
      throw Error(ErrorKind::conflict,
                  label(id) + " is " + current + ": it cannot become " + to_text);
    long long changed =
        detail::execute(sql, query + " WHERE id = :id AND job_status = :old", soci::use(to_text),
                        uses..., soci::use(key), soci::use(current));
    if (changed == 0)
      throw Error(ErrorKind::conflict, label(id) + " changed while becoming " + to_text);
  });
}

}  // namespace

std::string_view to_string(JobStatus s) {
  return kStatusNames.at(static_cast<std::size_t>(s));
}

JobStatus job_status_from(std::string_view text) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i)
    if (kStatusNames[i] == text) return static_cast<JobStatus>(i);
  throw Error(ErrorKind::corrupt_file, "database: unknown training job status '" +
                                           std::string(text) +
                                           "' (a newer hearth may have written it)");
}

TrainingJob TrainingJobs::create(std::int64_t user_id, std::int64_t model_id,
                                 std::int64_t training_data_size) {
  return create(NewTrainingJob{.user_id = user_id, .model_id = model_id,
                               .training_data_size = training_data_size});
}

TrainingJob TrainingJobs::create(const NewTrainingJob& n) {
  if (n.training_data_size < 0)
    throw Error(ErrorKind::invalid_input, "training data size cannot be negative");
  long long user = n.user_id, model = n.model_id, size = n.training_data_size;
  long long dataset = n.dataset_version_id.value_or(0), started_by = n.started_by.value_or(0);
  soci::indicator dataset_ind = n.dataset_version_id ? soci::i_ok : soci::i_null;
  soci::indicator started_ind = n.started_by ? soci::i_ok : soci::i_null;
  int init_version = n.init_version;
  std::string stamp = format_time(now());
  std::string status(to_string(JobStatus::queued));
  long long id = detail::in_transaction(*db_, "creating a training job", [&](soci::session& sql) {
    detail::check_model_owner(sql, model, user);  // and, on PostgreSQL, locks its row
    if (n.one_at_a_time) {
      long long active = 0;
      std::string queued(to_string(JobStatus::queued)), running(to_string(JobStatus::running));
      sql << "SELECT COUNT(*) FROM personal_model_training_jobs WHERE model_id = :m AND "
             "job_status IN (:q, :r)",
          soci::into(active), soci::use(model), soci::use(queued), soci::use(running);
      if (active > 0)
        throw Error(ErrorKind::conflict, "a training job of personal model " +
                                             std::to_string(model) + " is already queued or running");
    }
    long long new_id = 0;
    const std::string suffix =
        detail::seal(*db_, sql, n.user_id, n.suffix, "personal_model_training_jobs.suffix");
    sql << "INSERT INTO personal_model_training_jobs (user_id, model_id, job_status, "
           "training_data_size, training_progress, error_message, training_metrics, created_at, "
           "dataset_version_id, hyperparameters, trainer, origin, started_by, base_model, "
           "base_digest, init_version, suffix) "
           "VALUES (:u, :m, :s, :n, 0, '', '{}', :c, :d, :h, :tr, :o, :b, :bm, :bd, :iv, :sf) "
           "RETURNING id",
        soci::use(user), soci::use(model), soci::use(status), soci::use(size), soci::use(stamp),
        soci::use(dataset, dataset_ind), soci::use(n.hyperparameters), soci::use(n.trainer),
        soci::use(n.origin), soci::use(started_by, started_ind), soci::use(n.base_model),
        soci::use(n.base_digest), soci::use(init_version), soci::use(suffix),
        soci::into(new_id);
    return new_id;
  });
  auto job = find(id);
  HEARTH_ASSERT(job.has_value(), "a training job vanished right after it was created");
  return *job;
}

std::optional<TrainingJob> TrainingJobs::find(std::int64_t id) {
  long long key = id;
  auto rows = detail::with_session(*db_, "finding " + label(id), [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<JobRow>(sql, select_list(*db_) + "WHERE id = :id", soci::use(key)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void TrainingJobs::update_progress(std::int64_t id, double percent,
                                   std::optional<Timestamp> estimated_completion,
                                   const std::string& metrics_json) {
  detail::check_percent(percent, label(id));
  std::string estimate = estimated_completion ? format_time(*estimated_completion) : "";
  soci::indicator estimate_ind = estimated_completion ? soci::i_ok : soci::i_null;
  std::string query =
      "UPDATE personal_model_training_jobs SET job_status = :s, training_progress = :p, "
      "estimated_completion = :e";
  if (metrics_json.empty()) {
    change(*db_, id, {JobStatus::queued, JobStatus::running}, JobStatus::running, query,
           soci::use(percent), soci::use(estimate, estimate_ind));
  } else {
    change(*db_, id, {JobStatus::queued, JobStatus::running}, JobStatus::running,
           query + ", training_metrics = :m", soci::use(percent), soci::use(estimate, estimate_ind),
           soci::use(metrics_json));
  }
}

void TrainingJobs::finish(std::int64_t id, const std::string& metrics_json) {
  std::string stamp = format_time(now());
  const std::string metrics = metrics_json.empty() ? "{}" : metrics_json;
  change(*db_, id, {JobStatus::running}, JobStatus::completed,
         "UPDATE personal_model_training_jobs SET job_status = :s, training_progress = 100, "
         "training_metrics = :m, completed_at = :t",
         soci::use(metrics), soci::use(stamp));
}

void TrainingJobs::fail(std::int64_t id, const std::string& error_message) {
  std::string stamp = format_time(now());
  change(*db_, id, {JobStatus::queued, JobStatus::running}, JobStatus::failed,
         "UPDATE personal_model_training_jobs SET job_status = :s, error_message = :e, "
         "completed_at = :t",
         soci::use(error_message), soci::use(stamp));
}

void TrainingJobs::cancel(std::int64_t id) {
  std::string stamp = format_time(now());
  change(*db_, id, {JobStatus::queued, JobStatus::running}, JobStatus::cancelled,
         "UPDATE personal_model_training_jobs SET job_status = :s, completed_at = :t",
         soci::use(stamp));
}

std::optional<TrainingJob> TrainingJobs::next_to_run(const std::string& trainer) {
  std::string running(to_string(JobStatus::running)), queued(to_string(JobStatus::queued));
  auto rows = detail::with_session(*db_, "finding the next training job", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<JobRow>(
        sql,
        select_list(*db_) +
            "WHERE trainer = :t AND job_status IN (:r, :q) ORDER BY "
            "CASE WHEN job_status = :r2 THEN 0 ELSE 1 END, id LIMIT 1",
        soci::use(trainer), soci::use(running), soci::use(queued), soci::use(running)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void TrainingJobs::start(std::int64_t id) {
  std::string stamp = format_time(now());
  change(*db_, id, {JobStatus::queued, JobStatus::running}, JobStatus::running,
         "UPDATE personal_model_training_jobs SET job_status = :s, "
         "started_at = COALESCE(started_at, :t)",
         soci::use(stamp));
}

bool TrainingJobs::request_cancel(std::int64_t id) {
  auto job = find(id);
  if (!job) throw Error(ErrorKind::not_found, label(id) + " does not exist");
  if (job->status == JobStatus::queued) {
    try {
      cancel(id);
      return true;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::conflict) throw;  // it started meanwhile: ask its runner
    }
  }
  change(*db_, id, {JobStatus::running}, JobStatus::running,
         "UPDATE personal_model_training_jobs SET job_status = :s, cancel_requested = 1");
  return false;
}

bool TrainingJobs::cancel_requested(std::int64_t id) {
  auto job = find(id);
  return job && job->cancel_requested;
}

namespace {
// Sets one column of a job, whatever its status.
template <class Value>
void set_column(Database::Impl& db, std::int64_t id, const std::string& doing,
                const std::string& assignment, Value& value, soci::indicator ind = soci::i_ok) {
  long long key = id;
  long long changed = detail::with_session(db, doing, [&](soci::session& sql) {
    return detail::execute(sql,
                           "UPDATE personal_model_training_jobs SET " + assignment + " WHERE id = :id",
                           soci::use(value, ind), soci::use(key));
  });
  if (changed == 0) throw Error(ErrorKind::not_found, label(id) + " does not exist");
}
}  // namespace

void TrainingJobs::set_hyperparameters(std::int64_t id, const std::string& json) {
  std::string v = json;
  set_column(*db_, id, "storing a job's hyperparameters", "hyperparameters = :v", v);
}

void TrainingJobs::set_eval_results(std::int64_t id, const std::string& json) {
  long long key = id, user = 0;
  std::string v = detail::with_session(*db_, "storing a job's evaluation", [&](soci::session& sql) {
    sql << "SELECT user_id FROM personal_model_training_jobs WHERE id = :id", soci::use(key),
        soci::into(user);
    if (!sql.got_data()) throw Error(ErrorKind::not_found, "no training job " + std::to_string(id));
    return detail::seal_json(*db_, sql, user, json, "personal_model_training_jobs.eval_results");
  });
  set_column(*db_, id, "storing a job's evaluation", "eval_results = :v", v);
}

void TrainingJobs::set_adapter_path(std::int64_t id, const std::string& path) {
  std::string v = path;
  set_column(*db_, id, "storing a job's adapter", "adapter_path = :v", v);
}

void TrainingJobs::set_deployed_version(std::int64_t id, std::optional<int> version) {
  int v = version.value_or(0);
  set_column(*db_, id, "storing a job's deployed version", "deployed_version = :v", v,
             version ? soci::i_ok : soci::i_null);
}

void TrainingJobs::set_remote_job_id(std::int64_t id, const std::string& remote_id) {
  std::string v = remote_id;
  set_column(*db_, id, "storing a job's remote id", "remote_job_id = :v", v);
}

std::vector<TrainingJob> TrainingJobs::list_for_model(std::int64_t model_id) {
  long long model = model_id;
  return detail::with_session(*db_, "listing a model's training jobs", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<JobRow>(
        sql, select_list(*db_) + "WHERE model_id = :m ORDER BY created_at DESC, id DESC",
        soci::use(model)));
  });
}

std::vector<TrainingJob> TrainingJobs::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing training jobs", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<JobRow>(
        sql, select_list(*db_) + "WHERE user_id = :u ORDER BY created_at DESC, id DESC",
        soci::use(user)));
  });
}

}  // namespace hearth::db
