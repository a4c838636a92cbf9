// See schedule.h.
#include "loop/schedule.h"

#include "core/log.h"
#include "core/time_zone.h"
#include "db/conversations.h"
#include "db/training.h"
#include "loop/loop.h"
#include "loop/weekly_window.h"

namespace hearth::loop {
namespace {

using std::chrono::sys_seconds;

db::Timestamp to_timestamp(sys_seconds t) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

}  // namespace

std::string check_schedule(const std::string& window, const std::string& time_zone) {
  TimeZone::load(time_zone);  // invalid_input naming the zone
  return to_text(parse_weekly_window(window, time_zone));
}

std::vector<ScheduleOutcome> run_due_schedules(const db::Database& db, library::Library& library,
                                               sys_seconds now,
                                               const std::filesystem::path& datasets_root) {
  std::vector<ScheduleOutcome> done;
  db::TrainingSchedules schedules(db);
  for (const db::TrainingSchedule& s : schedules.list_enabled()) {
    std::optional<Window> open;
    try {
      const TimeZone zone = TimeZone::load(s.time_zone);
      const WeeklyWindow window = parse_weekly_window(s.window, s.time_zone);
      std::optional<sys_seconds> last;
      if (s.last_window_start)
        last = std::chrono::time_point_cast<std::chrono::seconds>(*s.last_window_start);
      open = due(window, zone, last, now);
    } catch (const std::exception& e) {
      SPDLOG_WARN("training schedule of personal model {}: {}", s.personal_model_id, e.what());
      continue;
    }
    if (!open) continue;
    ScheduleOutcome o{s.personal_model_id, {}, {}};
    try {
      auto row = db::PersonalModels(db).find(s.personal_model_id);
      if (!row) continue;
      StartJob job;
      job.model = row->custom_name;
      job.origin = "schedule";
      job.continue_from_served = true;
      // New data: what came after the data of the version served now (all of it before the
      // first deploy). A job that failed or did not pass the gate leaves its data new.
      if (row->fine_tune_version > 0)
        if (auto v = db::ModelVersions(db).find(row->id, row->fine_tune_version);
            v && v->dataset_version_id)
          if (auto d = db::DatasetVersions(db).find(s.user_id, *v->dataset_version_id))
            job.since = d->created_at;
      job.replay = row->fine_tune_version > 0 ? kReplayExamples : 0;
      job.datasets_dir = datasets_root / std::to_string(s.user_id);
      const db::Timestamp exported_at = db::now();
      const db::TrainingJob started = start_job(db, library, s.user_id, std::nullopt, job);
      o.job_id = started.id;
      o.outcome = "started training job " + std::to_string(started.id) + " on " +
                  std::to_string(started.training_data_size) + " new examples";
      // New data is what comes after this export: the database's clock stamps conversations
      // (the window's clock may be another, in tests).
      schedules.record_window(s.personal_model_id, to_timestamp(open->start), o.outcome,
                              exported_at, started.id);
    } catch (const std::exception& e) {
      // Too little new data, a job already running, no opt-in: this window is done all the same.
      o.outcome = std::string("skipped: ") + e.what();
      try {
        schedules.record_window(s.personal_model_id, to_timestamp(open->start), o.outcome);
      } catch (const std::exception& again) {
        SPDLOG_WARN("training schedule of personal model {}: {}", s.personal_model_id, again.what());
        continue;
      }
    }
    done.push_back(std::move(o));
  }
  return done;
}

}  // namespace hearth::loop
