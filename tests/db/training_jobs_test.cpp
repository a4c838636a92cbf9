// TrainingJobs on both backends.

#include "db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::db {
namespace {

namespace json = boost::json;
using hearth::test::json_from;

class TrainingJobsTest : public test::BackendTest {
 protected:
  // A user with one personal model; returns {user id, model id}.
  std::pair<std::int64_t, std::int64_t> user_with_model(const std::string& name = "ada") {
    std::int64_t user = make_user(name);
    Database db = open();
    return {user, PersonalModels(db).add({.user_id = user, .model_id = "base"}).id};
  }
};
HEARTH_DB_BACKENDS(TrainingJobsTest);

TEST_P(TrainingJobsTest, CreateStartsQueuedWithEmptyMetrics) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  TrainingJob j = jobs.create(user, model, 1200);
  EXPECT_GT(j.id, 0);
  EXPECT_EQ(j.user_id, user);
  EXPECT_EQ(j.model_id, model);
  EXPECT_EQ(j.status, JobStatus::queued);
  EXPECT_EQ(j.training_data_size, 1200);
  EXPECT_EQ(j.training_progress, 0);
  EXPECT_FALSE(j.estimated_completion.has_value());
  EXPECT_EQ(j.error_message, "");
  EXPECT_EQ(json_from(j.training_metrics), json::value(json::object{}));
  EXPECT_FALSE(j.completed_at.has_value());
  EXPECT_EQ(jobs.find(j.id)->created_at, j.created_at);
  EXPECT_FALSE(jobs.find(j.id + 1000).has_value());
}

TEST_P(TrainingJobsTest, ModelsMustExistAndBelongToTheUser) {
  auto [ada, model] = user_with_model("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  TrainingJobs jobs(db);
  EXPECT_DB_ERROR(jobs.create(ada, model + 1000, 1), ErrorKind::not_found);
  EXPECT_DB_ERROR(jobs.create(bob, model, 1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(jobs.create(ada, model, -1), ErrorKind::invalid_input);
}

TEST_P(TrainingJobsTest, ProgressMetricsAndFinishRoundTrip) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  auto j = jobs.create(user, model, 500);
  using namespace std::chrono;
  Timestamp eta = sys_days(year(2031) / 12 / 31) + hours(23) + minutes(59) + milliseconds(1);
  jobs.update_progress(j.id, 25, eta, R"({"loss": 1.25, "step": 10, "lr": [0.001, 0.0005]})");
  auto running = *jobs.find(j.id);
  EXPECT_EQ(running.status, JobStatus::running);
  EXPECT_DOUBLE_EQ(running.training_progress, 25);
  ASSERT_TRUE(running.estimated_completion.has_value());
  EXPECT_EQ(*running.estimated_completion, eta);
  // JSONB may respace and reorder; the value is what must survive.
  EXPECT_EQ(json_from(running.training_metrics),
            json_from(R"({"step": 10, "lr": [0.001, 0.0005], "loss": 1.25})"));

  jobs.update_progress(j.id, 50, std::nullopt);  // metrics untouched, estimate cleared
  auto half = *jobs.find(j.id);
  EXPECT_FALSE(half.estimated_completion.has_value());
  EXPECT_EQ(json_from(half.training_metrics).at("step"), 10);

  const json::value final_metrics =
      json::object{{"eval_loss", 0.5}, {"name", "naïve \"quoted\" ✓"}};
  jobs.finish(j.id, format_json(final_metrics));
  auto done = *jobs.find(j.id);
  EXPECT_EQ(done.status, JobStatus::completed);
  EXPECT_DOUBLE_EQ(done.training_progress, 100);
  EXPECT_TRUE(done.completed_at.has_value());
  EXPECT_EQ(json_from(done.training_metrics), final_metrics);
}

TEST_P(TrainingJobsTest, InvalidJsonIsRefused) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  auto j = jobs.create(user, model, 1);
  EXPECT_DB_ERROR(jobs.update_progress(j.id, 1, std::nullopt, "{not json"),
                  ErrorKind::invalid_input);
  EXPECT_EQ(jobs.find(j.id)->status, JobStatus::queued);  // rolled back
}

TEST_P(TrainingJobsTest, EndedJobsCannotChange) {
  auto [user, model] = user_with_model();
  Database db = open();
  TrainingJobs jobs(db);
  auto failed = jobs.create(user, model, 1);
  jobs.update_progress(failed.id, 10, std::nullopt);
  jobs.fail(failed.id, "out of memory at step 3");
  auto f = *jobs.find(failed.id);
  EXPECT_EQ(f.status, JobStatus::failed);
  EXPECT_EQ(f.error_message, "out of memory at step 3");
  EXPECT_TRUE(f.completed_at.has_value());

  auto cancelled = jobs.create(user, model, 1);
  jobs.cancel(cancelled.id);
  EXPECT_EQ(jobs.find(cancelled.id)->status, JobStatus::cancelled);

  auto queued = jobs.create(user, model, 1);
  EXPECT_DB_ERROR(jobs.finish(queued.id, "{}"), ErrorKind::conflict);  // never ran

  for (std::int64_t id : {failed.id, cancelled.id}) {
    EXPECT_DB_ERROR(jobs.update_progress(id, 20, std::nullopt), ErrorKind::conflict);
    EXPECT_DB_ERROR(jobs.finish(id, "{}"), ErrorKind::conflict);
    EXPECT_DB_ERROR(jobs.fail(id, "again"), ErrorKind::conflict);
    EXPECT_DB_ERROR(jobs.cancel(id), ErrorKind::conflict);
  }
  EXPECT_EQ(jobs.find(failed.id)->error_message, "out of memory at step 3");
  EXPECT_DB_ERROR(jobs.fail(99999, "x"), ErrorKind::not_found);
  EXPECT_DB_ERROR(jobs.update_progress(queued.id, 101, std::nullopt), ErrorKind::invalid_input);
}

TEST_P(TrainingJobsTest, ListIsNewestFirstPerUserAndFollowsModelRemoval) {
  auto [ada, model] = user_with_model("ada");
  auto [bob, bobs_model] = user_with_model("bob");
  Database db = open();
  TrainingJobs jobs(db);
  auto first = jobs.create(ada, model, 1);
  auto second = jobs.create(ada, model, 2);
  jobs.create(bob, bobs_model, 3);
  auto list = jobs.list(ada);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second.id);
  EXPECT_EQ(list[1].id, first.id);
  EXPECT_EQ(jobs.list(bob).size(), 1u);
  // A removed model takes its jobs with it (ON DELETE CASCADE on both backends).
  PersonalModels(db).remove(model);
  EXPECT_TRUE(jobs.list(ada).empty());
}

TEST(JobStatus, TextRoundTripsAndUnknownTextIsCorrupt) {
  for (JobStatus s : {JobStatus::queued, JobStatus::running, JobStatus::completed,
                      JobStatus::failed, JobStatus::cancelled})
    EXPECT_EQ(job_status_from(to_string(s)), s);
  EXPECT_DB_ERROR(job_status_from("paused"), ErrorKind::corrupt_file);
}

}  // namespace
}  // namespace hearth::db
