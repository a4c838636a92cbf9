// JobEvents: a training job's progress as a stream (training.h).
#include "db/internal.h"
#include "db/training.h"

namespace hearth::db {
namespace {

struct EventRow {
  long long id = 0, job_id = 0;
  std::string level, message, data, created_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(job_id));
    st.exchange(soci::into(level));
    st.exchange(soci::into(message));
    st.exchange(soci::into(data));
    st.exchange(soci::into(created_at));
  }
  JobEvent get() const {
    return {id, job_id, level, message, data,
            detail::read_time(created_at, "training_job_events.created_at")};
  }
};

}  // namespace

JobEvent JobEvents::add(std::int64_t job_id, const std::string& level, const std::string& message,
                        const std::string& data_json) {
  long long job = job_id;
  const std::string stamp = format_time(now());
  const std::string data = data_json.empty() ? "{}" : data_json;
  long long id = detail::with_session(*db_, "recording a job event", [&](soci::session& sql) {
    long long new_id = 0;
    sql << "INSERT INTO training_job_events (job_id, level, message, data, created_at) "
           "VALUES (:j, :l, :m, :d, :c) RETURNING id",
        soci::use(job), soci::use(level), soci::use(message), soci::use(data), soci::use(stamp),
        soci::into(new_id);
    return new_id;
  });
  return {id, job_id, level, message, data, parse_time(stamp)};
}

std::vector<JobEvent> JobEvents::list(std::int64_t job_id, std::int64_t after, std::size_t limit) {
  long long job = job_id, from = after, n = static_cast<long long>(limit);
  return detail::with_session(*db_, "listing job events", [&](soci::session& sql) {
    return detail::query_rows<EventRow>(
        sql,
        "SELECT id, job_id, level, message, " + detail::json_column(*db_, "data") + ", " +
            detail::time_column(*db_, "created_at") +
            " FROM training_job_events WHERE job_id = :j AND id > :a ORDER BY id LIMIT :n",
        soci::use(job), soci::use(from), soci::use(n));
  });
}

}  // namespace hearth::db
