// TrainingSchedules: the opt-in weekly schedule of a personal model (training.h).
#include "db/internal.h"
#include "db/training.h"

namespace hearth::db {
namespace {

struct ScheduleRow {
  long long personal_model_id = 0, user_id = 0, last_job_id = 0;
  int enabled = 0;
  std::string window, time_zone, last_window_start, last_data_at, last_outcome, updated_at;
  soci::indicator window_ind = soci::i_ok, data_ind = soci::i_ok, job_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(personal_model_id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(enabled));
    st.exchange(soci::into(window));
    st.exchange(soci::into(time_zone));
    st.exchange(soci::into(last_window_start, window_ind));
    st.exchange(soci::into(last_data_at, data_ind));
    st.exchange(soci::into(last_job_id, job_ind));
    st.exchange(soci::into(last_outcome));
    st.exchange(soci::into(updated_at));
  }
  TrainingSchedule get() const {
    TrainingSchedule s;
    s.personal_model_id = personal_model_id;
    s.user_id = user_id;
    s.enabled = enabled != 0;
    s.window = window;
    s.time_zone = time_zone;
    s.last_window_start =
        detail::read_time(last_window_start, window_ind, "training_schedules.last_window_start");
    s.last_data_at = detail::read_time(last_data_at, data_ind, "training_schedules.last_data_at");
    if (job_ind == soci::i_ok) s.last_job_id = last_job_id;
    s.last_outcome = last_outcome;
    s.updated_at = detail::read_time(updated_at, "training_schedules.updated_at");
    return s;
  }
};

std::string select_list(const Database::Impl& db) {
  using detail::time_column;
  return "SELECT personal_model_id, user_id, enabled, window_spec, time_zone, " +
         time_column(db, "last_window_start") + ", " + time_column(db, "last_data_at") +
         ", last_job_id, last_outcome, " + time_column(db, "updated_at") +
         " FROM training_schedules ";
}

}  // namespace

TrainingSchedule TrainingSchedules::put(std::int64_t user_id, std::int64_t personal_model_id,
                                        bool enabled, const std::string& window,
                                        const std::string& time_zone) {
  long long model = personal_model_id, user = user_id;
  int on = enabled ? 1 : 0;
  const std::string stamp = format_time(now());
  detail::in_transaction(*db_, "storing a training schedule", [&](soci::session& sql) {
    detail::check_model_owner(sql, model, user);
    long long changed = detail::execute(
        sql,
        "UPDATE training_schedules SET enabled = :e, window_spec = :w, time_zone = :z, "
        "updated_at = :t WHERE personal_model_id = :m",
        soci::use(on), soci::use(window), soci::use(time_zone), soci::use(stamp), soci::use(model));
    if (changed == 0)
      detail::execute(sql,
                      "INSERT INTO training_schedules (personal_model_id, user_id, enabled, "
                      "window_spec, time_zone, updated_at) VALUES (:m, :u, :e, :w, :z, :t)",
                      soci::use(model), soci::use(user), soci::use(on), soci::use(window),
                      soci::use(time_zone), soci::use(stamp));
  });
  auto s = find(personal_model_id);
  HEARTH_ASSERT(s.has_value(), "a stored schedule vanished");
  return *s;
}

std::optional<TrainingSchedule> TrainingSchedules::find(std::int64_t personal_model_id) {
  long long model = personal_model_id;
  auto rows = detail::with_session(*db_, "finding a training schedule", [&](soci::session& sql) {
    return detail::query_rows<ScheduleRow>(sql, select_list(*db_) + "WHERE personal_model_id = :m",
                                           soci::use(model));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<TrainingSchedule> TrainingSchedules::list_enabled() {
  return detail::with_session(*db_, "listing training schedules", [&](soci::session& sql) {
    return detail::query_rows<ScheduleRow>(
        sql, select_list(*db_) + "WHERE enabled = 1 ORDER BY personal_model_id");
  });
}

std::vector<TrainingSchedule> TrainingSchedules::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing training schedules", [&](soci::session& sql) {
    return detail::query_rows<ScheduleRow>(
        sql, select_list(*db_) + "WHERE user_id = :u ORDER BY personal_model_id", soci::use(user));
  });
}

void TrainingSchedules::record_window(std::int64_t personal_model_id, Timestamp window_start,
                                      const std::string& outcome, std::optional<Timestamp> data_at,
                                      std::optional<std::int64_t> job_id) {
  long long model = personal_model_id, job = job_id.value_or(0);
  const std::string start = format_time(window_start), stamp = format_time(now());
  const std::string data = data_at ? format_time(*data_at) : "";
  soci::indicator data_ind = data_at ? soci::i_ok : soci::i_null;
  soci::indicator job_ind = job_id ? soci::i_ok : soci::i_null;
  long long changed = detail::with_session(*db_, "recording a schedule's window", [&](soci::session& sql) {
    return detail::execute(
        sql,
        "UPDATE training_schedules SET last_window_start = :w, last_outcome = :o, "
        "last_data_at = COALESCE(:d, last_data_at), last_job_id = COALESCE(:j, last_job_id), "
        "updated_at = :t WHERE personal_model_id = :m",
        soci::use(start), soci::use(outcome), soci::use(data, data_ind), soci::use(job, job_ind),
        soci::use(stamp), soci::use(model));
  });
  if (changed == 0)
    throw Error(ErrorKind::not_found,
                "personal model " + std::to_string(personal_model_id) + " has no schedule");
}

bool TrainingSchedules::remove(std::int64_t personal_model_id) {
  long long model = personal_model_id;
  return detail::with_session(*db_, "removing a training schedule", [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM training_schedules WHERE personal_model_id = :m",
                           soci::use(model)) > 0;
  });
}

}  // namespace hearth::db
