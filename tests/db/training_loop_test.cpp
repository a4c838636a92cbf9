// The personal loop's tables on both backends: job details, the runner's queue order and cancel
// requests, versions with deploy and rollback, job events, schedules, uploaded files.

#include "db/training.h"
#include "db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::db {
namespace {

namespace json = boost::json;
using hearth::test::json_from;

class TrainingLoopTest : public test::BackendTest {
 protected:
  std::pair<std::int64_t, std::int64_t> user_with_model(const std::string& name = "ada") {
    std::int64_t user = make_user(name);
    Database db = open();
    return {user, PersonalModels(db).add({.user_id = user, .model_id = "base"}).id};
  }
};
HEARTH_DB_BACKENDS(TrainingLoopTest);

TEST_P(TrainingLoopTest, JobDetailsRoundTrip) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  TrainingJob j = jobs.create(NewTrainingJob{.user_id = user,
                                             .model_id = model,
                                             .training_data_size = 120,
                                             .dataset_version_id = 7,
                                             .hyperparameters = R"({"n_epochs": 3})",
                                             .origin = "schedule",
                                             .started_by = user,
                                             .base_model = "tiny:latest",
                                             .base_digest = "sha256:ab",
                                             .init_version = 2,
                                             .suffix = "mine"});
  EXPECT_EQ(j.dataset_version_id, 7);
  EXPECT_EQ(json_from(j.hyperparameters), json_from(R"({"n_epochs": 3})"));
  EXPECT_EQ(j.trainer, "local");
  EXPECT_EQ(j.origin, "schedule");
  EXPECT_EQ(j.started_by, user);
  EXPECT_FALSE(j.started_at.has_value());
  EXPECT_EQ(j.base_model, "tiny:latest");
  EXPECT_EQ(j.base_digest, "sha256:ab");
  EXPECT_EQ(j.init_version, 2);
  EXPECT_EQ(j.suffix, "mine");
  EXPECT_FALSE(j.deployed_version.has_value());

  jobs.start(j.id);
  auto started = *jobs.find(j.id);
  EXPECT_EQ(started.status, JobStatus::running);
  ASSERT_TRUE(started.started_at.has_value());
  jobs.start(j.id);  // a resumed job keeps its first start
  EXPECT_EQ(jobs.find(j.id)->started_at, started.started_at);

  jobs.set_eval_results(j.id, R"({"tuned": {"loss": 1.5}})");
  jobs.set_adapter_path(j.id, "/tmp/a.gguf");
  jobs.set_deployed_version(j.id, 3);
  jobs.set_remote_job_id(j.id, "ftjob-x");
  auto after = *jobs.find(j.id);
  EXPECT_EQ(json_from(after.eval_results), json_from(R"({"tuned": {"loss": 1.5}})"));
  EXPECT_EQ(after.adapter_path, "/tmp/a.gguf");
  EXPECT_EQ(after.deployed_version, 3);
  EXPECT_EQ(after.remote_job_id, "ftjob-x");
  EXPECT_DB_ERROR(jobs.set_eval_results(j.id, "{not json"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(jobs.set_adapter_path(j.id + 99, "x"), ErrorKind::not_found);
  EXPECT_EQ(jobs.list_for_model(model).size(), 1u);
}

TEST_P(TrainingLoopTest, RunnerTakesRunningJobsFirstThenTheOldestQueued) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  EXPECT_FALSE(jobs.next_to_run("local").has_value());
  auto a = jobs.create(user, model, 1);
  auto b = jobs.create(user, model, 1);
  auto remote = jobs.create(NewTrainingJob{.user_id = user, .model_id = model, .trainer = "openai"});
  EXPECT_EQ(jobs.next_to_run("local")->id, a.id);
  EXPECT_EQ(jobs.next_to_run("openai")->id, remote.id);
  jobs.start(b.id);  // b was running when the server stopped: it resumes first
  EXPECT_EQ(jobs.next_to_run("local")->id, b.id);
  jobs.finish(b.id, "{}");
  EXPECT_EQ(jobs.next_to_run("local")->id, a.id);
}

TEST_P(TrainingLoopTest, CancelEndsQueuedJobsAndAsksRunningOnes) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  auto queued = jobs.create(user, model, 1);
  EXPECT_TRUE(jobs.request_cancel(queued.id));
  EXPECT_EQ(jobs.find(queued.id)->status, JobStatus::cancelled);
  auto running = jobs.create(user, model, 1);
  jobs.start(running.id);
  EXPECT_FALSE(jobs.cancel_requested(running.id));
  EXPECT_FALSE(jobs.request_cancel(running.id));
  EXPECT_TRUE(jobs.cancel_requested(running.id));
  EXPECT_EQ(jobs.find(running.id)->status, JobStatus::running);
  jobs.cancel(running.id);
  EXPECT_DB_ERROR(jobs.request_cancel(running.id), ErrorKind::conflict);
  EXPECT_DB_ERROR(jobs.request_cancel(running.id + 99), ErrorKind::not_found);
}

TEST_P(TrainingLoopTest, DeployNumbersVersionsAndRollbackReturnsToThePreviousOne) {
  auto [user, model] = user_with_model();
  std::int64_t bob = make_user("bob");
  Database db = open();
  ModelVersions versions(db);
  PersonalModels models(db);
  EXPECT_DB_ERROR(versions.rollback(model), ErrorKind::conflict);  // serving the base already

  TrainingJobs jobs(db);
  const std::int64_t job = jobs.create(user, model, 1).id;
  ModelVersion v{.personal_model_id = model, .user_id = user, .job_id = job,
                 .adapter_path = "/a1", .base_model = "tiny:latest",
                 .dataset_hash = "h1", .eval_results = R"({"better": true})"};
  auto v1 = versions.deploy(v);
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v1.previous_version, 0);
  EXPECT_EQ(v1.job_id, job);
  EXPECT_EQ(jobs.find(job)->deployed_version, 1);
  // A job becomes a version once.
  EXPECT_DB_ERROR(versions.deploy(v), ErrorKind::conflict);
  EXPECT_EQ(versions.list(model).size(), 1u);
  v.job_id = std::nullopt;
  EXPECT_EQ(json_from(v1.eval_results), json_from(R"({"better": true})"));
  auto row = *models.find(model);
  EXPECT_TRUE(row.fine_tuned);
  EXPECT_EQ(row.fine_tune_version, 1);
  EXPECT_TRUE(row.last_training_date.has_value());

  v.adapter_path = "/a2";
  auto v2 = versions.deploy(v);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v2.previous_version, 1);
  EXPECT_EQ(versions.list(model).size(), 2u);
  EXPECT_EQ(versions.find(model, 2)->adapter_path, "/a2");
  EXPECT_FALSE(versions.find(model, 3).has_value());

  EXPECT_EQ(versions.rollback(model), 1);
  EXPECT_EQ(models.find(model)->fine_tune_version, 1);
  EXPECT_EQ(versions.rollback(model), 0);
  row = *models.find(model);
  EXPECT_FALSE(row.fine_tuned);
  EXPECT_EQ(row.fine_tune_version, 0);
  EXPECT_DB_ERROR(versions.rollback(model), ErrorKind::conflict);

  // A third deploy after rolling back to the base comes after the highest, back to the base.
  auto v3 = versions.deploy(v);
  EXPECT_EQ(v3.version, 3);
  EXPECT_EQ(v3.previous_version, 0);

  ModelVersion theirs = v;
  theirs.user_id = bob;
  EXPECT_DB_ERROR(versions.deploy(theirs), ErrorKind::invalid_input);
  theirs.personal_model_id = model + 99;
  EXPECT_DB_ERROR(versions.deploy(theirs), ErrorKind::not_found);
}

TEST_P(TrainingLoopTest, EventsComeInOrderAfterAnId) {
  auto [user, model] = user_with_model();
  Database db = open();
  auto job = TrainingJobs(db).create(user, model, 1);
  JobEvents events(db);
  auto first = events.add(job.id, "info", "started");
  events.add(job.id, "info", "step 1", R"({"step": 1, "loss": 2.5})");
  events.add(job.id, "error", "failed");
  auto all = events.list(job.id);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].message, "started");
  EXPECT_EQ(json_from(all[1].data).at("loss").as_double(), 2.5);
  EXPECT_EQ(all[2].level, "error");
  auto later = events.list(job.id, first.id);
  ASSERT_EQ(later.size(), 2u);
  EXPECT_EQ(later[0].message, "step 1");
  EXPECT_EQ(events.list(job.id, 0, 1).size(), 1u);
  EXPECT_DB_ERROR(events.add(job.id, "info", "x", "[1"), ErrorKind::invalid_input);
}

TEST_P(TrainingLoopTest, SchedulesKeepWhatTheyRanAcrossSettingChanges) {
  auto [user, model] = user_with_model();
  std::int64_t bob = make_user("bob");
  Database db = open();
  TrainingSchedules schedules(db);
  auto s = schedules.put(user, model, true, "sunday 02:00-06:00", "Europe/Berlin");
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.last_window_start.has_value());
  EXPECT_EQ(schedules.list_enabled().size(), 1u);
  Timestamp window = parse_time("2026-12-06T01:00:00.000Z");
  Timestamp data = parse_time("2026-12-06T01:00:05.000Z");
  schedules.record_window(model, window, "started job 5", data, 5);
  schedules.record_window(model, window, "again, without data");  // keeps data_at and the job
  s = schedules.put(user, model, false, "daily 03:00-04:00", "UTC");
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.window, "daily 03:00-04:00");
  EXPECT_EQ(s.last_window_start, window);
  EXPECT_EQ(s.last_data_at, data);
  EXPECT_EQ(s.last_job_id, 5);
  EXPECT_EQ(s.last_outcome, "again, without data");
  EXPECT_TRUE(schedules.list_enabled().empty());
  EXPECT_EQ(schedules.list(user).size(), 1u);
  EXPECT_TRUE(schedules.list(bob).empty());
  EXPECT_DB_ERROR(schedules.put(bob, model, true, "x", "UTC"), ErrorKind::invalid_input);
  EXPECT_TRUE(schedules.remove(model));
  EXPECT_FALSE(schedules.find(model).has_value());
  EXPECT_DB_ERROR(schedules.record_window(model, window, "x"), ErrorKind::not_found);
}

TEST_P(TrainingLoopTest, UploadedFilesBelongToTheirUser) {
  std::int64_t ada = make_user("ada"), bob = make_user("bob");
  Database db = open();
  UploadedFiles files(db);
  auto f = files.add({.user_id = ada, .filename = "train.jsonl", .purpose = "fine-tune",
                      .bytes = 42, .path = "/x/file-1", .sha256 = "ab"});
  EXPECT_GT(f.id, 0);
  EXPECT_EQ(files.find(ada, f.id)->filename, "train.jsonl");
  EXPECT_FALSE(files.find(bob, f.id).has_value());
  EXPECT_EQ(files.list(ada).size(), 1u);
  EXPECT_TRUE(files.list(bob).empty());
  EXPECT_FALSE(files.remove(bob, f.id));
  EXPECT_TRUE(files.remove(ada, f.id));
  EXPECT_FALSE(files.find(ada, f.id).has_value());
}

}  // namespace
}  // namespace hearth::db
