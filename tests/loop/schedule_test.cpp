// The weekly schedule with an injected clock (loop/schedule.h): a window runs once, too little new
// data skips it (once), a window missed while the server was down is not made up for late, and a
// job started by the schedule continues the served version on the new data only.
#include <gtest/gtest.h>

#include <thread>

#include "db/conversations.h"
#include "db/training.h"
#include "library/library_test_util.h"
#include "loop/loop.h"
#include "loop/schedule.h"

namespace hearth::loop {
namespace {

using std::chrono::sys_seconds;

sys_seconds utc(const std::string& text) {  // "2026-12-06T01:30:00.000Z"
  return std::chrono::time_point_cast<std::chrono::seconds>(db::parse_time(text));
}

class ScheduleTest : public test::LibraryFixture {
 protected:
  void SetUp() override {
    LibraryFixture::SetUp();
    model = pull_served(alice, "tiny.gguf");
    ASSERT_FALSE(model.empty());
    row = *db::PersonalModels(*database).find_by_name(alice, model);
    db::UserSettingsStore(*database).set({.user_id = alice, .training_opt_in = true});
    // Sunday 02:00-06:00 in Berlin (UTC+1 in December): 01:00-05:00 UTC.
    db::TrainingSchedules(*database).put(alice, row.id, true, "sunday 02:00-06:00", "Europe/Berlin");
  }

  // `n` conversations whose answers the user rated 5 (qualifying).
  void good_chats(int n, const std::string& tag) {
    db::Conversations conversations(*database);
    for (int i = 0; i < n; ++i) {
      auto c = conversations.create({.user_id = alice, .model = model, .source = "openai"});
      conversations.add_message(alice, c.id, {.role = "user", .content = "q" + tag + std::to_string(i)});
      auto a = conversations.add_message(alice, c.id,
                                         {.role = "assistant", .content = "a" + tag + std::to_string(i)});
      db::FeedbackStore(*database).upsert(alice, a.id, {.rating = 5});
    }
    // Time passes before the next window (an export counts what changed from its own start on,
    // to the millisecond).
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  std::vector<ScheduleOutcome> at(const std::string& when) {
    return run_due_schedules(*database, *library, utc(when), home() / "datasets");
  }

  std::string model;
  db::PersonalModel row;
};

TEST_F(ScheduleTest, RunsOncePerWindowSkipsWithTooLittleDataAndNeverMakesUpAMissedWindow) {
  // Saturday evening: no window.
  EXPECT_TRUE(at("2026-12-05T20:00:00.000Z").empty());

  // Sunday 03:00 Berlin: the window opens; no data yet, so it is skipped, once.
  auto done = at("2026-12-06T02:00:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_FALSE(done[0].job_id.has_value());
  EXPECT_NE(done[0].outcome.find("skipped: only 0 qualifying examples"), std::string::npos)
      << done[0].outcome;
  EXPECT_TRUE(at("2026-12-06T03:30:00.000Z").empty());  // same window: nothing again
  auto s = *db::TrainingSchedules(*database).find(row.id);
  EXPECT_EQ(s.last_window_start, db::parse_time("2026-12-06T01:00:00.000Z"));
  EXPECT_EQ(s.last_outcome, done[0].outcome);

  // 99 qualifying examples are still too few next week.
  good_chats(99, "a");
  done = at("2026-12-13T01:10:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_NE(done[0].outcome.find("only 99"), std::string::npos) << done[0].outcome;

  // The server is down on the 20th (no call); on Monday the 21st nothing runs late...
  good_chats(30, "b");
  EXPECT_TRUE(at("2026-12-21T09:00:00.000Z").empty());
  // ... and the next window runs: a job on the data so far, from the schedule.
  done = at("2026-12-27T04:59:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].job_id.has_value()) << done[0].outcome;
  auto job = *db::TrainingJobs(*database).find(*done[0].job_id);
  EXPECT_EQ(job.origin, "schedule");
  EXPECT_FALSE(job.started_by.has_value());
  EXPECT_EQ(job.status, db::JobStatus::queued);
  EXPECT_EQ(job.init_version, 0);  // nothing deployed yet: a fresh adapter
  auto data = *db::DatasetVersions(*database).find(alice, *job.dataset_version_id);
  EXPECT_EQ(data.train_examples + data.validation_examples, 129);
  EXPECT_TRUE(at("2026-12-27T04:59:59.000Z").empty());  // once per window
  s = *db::TrainingSchedules(*database).find(row.id);
  EXPECT_EQ(s.last_job_id, job.id);
  ASSERT_TRUE(s.last_data_at.has_value());

  // A week later only conversations after that job's data count: 120 new ones, while the job is
  // still queued: the window is skipped (one job per model at a time).
  good_chats(120, "c");
  done = at("2027-01-03T02:00:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_NE(done[0].outcome.find("already queued or running"), std::string::npos) << done[0].outcome;
  db::TrainingJobs(*database).cancel(job.id);

  // With version 1 served, the next window continues it on the new data only, with a replay.
  db::ModelVersions(*database).deploy({.personal_model_id = row.id, .user_id = alice,
                                       .adapter_path = "/nowhere/adapter.gguf",
                                       .dataset_version_id = data.id});
  done = at("2027-01-10T02:00:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  ASSERT_TRUE(done[0].job_id.has_value()) << done[0].outcome;
  job = *db::TrainingJobs(*database).find(*done[0].job_id);
  EXPECT_EQ(job.init_version, 1);
  data = *db::DatasetVersions(*database).find(alice, *job.dataset_version_id);
  EXPECT_EQ(data.train_examples + data.validation_examples, 120);
  EXPECT_NE(job.hyperparameters.find("\"replay\""), std::string::npos) << job.hyperparameters;
}

TEST_F(ScheduleTest, DaylightSavingMovesTheWindowInUtc) {
  // In summer Berlin is UTC+2: Sunday 02:00 local is 00:00 UTC.
  EXPECT_TRUE(at("2027-06-05T23:59:00.000Z").empty());
  auto done = at("2027-06-06T00:00:00.000Z");
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(db::TrainingSchedules(*database).find(row.id)->last_window_start,
            db::parse_time("2027-06-06T00:00:00.000Z"));
}

TEST_F(ScheduleTest, DisabledSchedulesAndBadSettingsDoNothing) {
  db::TrainingSchedules(*database).put(alice, row.id, false, "sunday 02:00-06:00", "Europe/Berlin");
  EXPECT_TRUE(at("2026-12-06T02:00:00.000Z").empty());
  EXPECT_THROW(check_schedule("someday 02:00-06:00", "UTC"), Error);
  EXPECT_THROW(check_schedule("sunday 02:00-06:00", "Mars/Olympus"), Error);
  EXPECT_EQ(check_schedule("Sunday 02:00-06:00", "Europe/Berlin"), "sun 02:00-06:00");
}

}  // namespace
}  // namespace hearth::loop
