// The weekly schedule (db::TrainingSchedules, loop/weekly_window.h): per personal model, an
// opt-in off-peak window in the user's time zone. In a window that has not run yet, the schedule
// exports only the conversations new since the data of the version served now (so the data of a
// job that failed or did not pass the gate stays new) and, when at least 100 of them
// qualify, starts a job that continues from the served version's adapter with a replay of
// earlier examples (so old skills are kept); the job deploys itself through the evaluation gate,
// which compares it with the served version and the base. Each window is handled once, whatever
// happens (too little data, an error): its start is stored, so a restart inside it does nothing
// again, and a window missed while the server was down is not made up for: the next one runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "db/db.h"
#include "library/library.h"

namespace hearth::loop {

inline constexpr std::int64_t kReplayExamples = 50;  // earlier examples mixed into a new job

struct ScheduleOutcome {
  std::int64_t personal_model_id = 0;
  std::string outcome;  // what it did, as stored in the schedule's last_outcome
  std::optional<std::int64_t> job_id;
};

// Handles every enabled schedule whose window is open at `now` and has not run; returns what it
// did (nothing for the others). `datasets_root`: HEARTH_HOME/datasets (a folder per user).
std::vector<ScheduleOutcome> run_due_schedules(const db::Database& db, library::Library& library,
                                               std::chrono::sys_seconds now,
                                               const std::filesystem::path& datasets_root);

// Checks a schedule's settings before they are stored: the window's text and the IANA zone.
// Returns the window in its normal text form. Error(invalid_input) saying what is wrong.
std::string check_schedule(const std::string& window, const std::string& time_zone);

}  // namespace hearth::loop
