// PersonalModels and Users on both backends.
#include <cmath>

#include "db_test_support.h"

namespace hearth::db {
namespace {

using test::BackendTest;

class PersonalModelsTest : public BackendTest {};
HEARTH_DB_BACKENDS(PersonalModelsTest);

class UsersTest : public BackendTest {};
HEARTH_DB_BACKENDS(UsersTest);

constexpr ModelStatus kAllStatuses[] = {ModelStatus::pending, ModelStatus::downloading,
                                        ModelStatus::verifying, ModelStatus::installed,
                                        ModelStatus::failed};

TEST_P(UsersTest, CreateAndFind) {
  Database db = open();
  Users users(db);
  Timestamp before = now();
  User u = users.create("grace", "grace@example.com", "$argon2id$v=19$abc");
  EXPECT_GT(u.id, 0);
  EXPECT_GE(u.created_at, before);
  auto by_name = users.find_by_name("grace");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->id, u.id);
  EXPECT_EQ(by_name->email, "grace@example.com");
  EXPECT_EQ(by_name->password_hash, "$argon2id$v=19$abc");
  EXPECT_EQ(by_name->created_at, u.created_at);  // milliseconds survive the round trip
  EXPECT_EQ(users.find(u.id)->username, "grace");
  EXPECT_FALSE(users.find_by_name("nobody").has_value());
  EXPECT_FALSE(users.find(u.id + 1000).has_value());
}

TEST_P(UsersTest, TakenNamesAndEmptyNamesAreRefused) {
  Database db = open();
  Users users(db);
  users.create("grace", "", "");
  EXPECT_DB_ERROR(users.create("grace", "other@example.com", ""), ErrorKind::conflict);
  EXPECT_DB_ERROR(users.create("", "", ""), ErrorKind::invalid_input);
  // Values with quotes go in as parameters, not as SQL.
  User odd = users.create("o'brien\"; DROP TABLE users; --", "", "");
  EXPECT_EQ(users.find_by_name("o'brien\"; DROP TABLE users; --")->id, odd.id);
}

TEST_P(PersonalModelsTest, AddStoresEverythingAndDefaultsTheName) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  PersonalModel m = models.add({.user_id = user,
                                .model_id = "reasoning-master",
                                .model_size_gb = 4.25,
                                .local_path = "/models/rm.gguf",
                                .fine_tuned = true,
                                .fine_tune_version = 2});
  EXPECT_GT(m.id, 0);
  EXPECT_EQ(m.user_id, user);
  EXPECT_EQ(m.model_id, "reasoning-master");
  EXPECT_EQ(m.custom_name, "reasoning-master");
  EXPECT_EQ(m.status, ModelStatus::pending);
  EXPECT_EQ(m.download_progress, 0);
  EXPECT_EQ(m.local_path, "/models/rm.gguf");
  EXPECT_TRUE(m.fine_tuned);
  EXPECT_EQ(m.fine_tune_version, 2);
  EXPECT_FALSE(m.last_training_date.has_value());
  EXPECT_DOUBLE_EQ(m.model_size_gb, 4.25);
  EXPECT_FALSE(m.performance_score.has_value());
  EXPECT_EQ(m.usage_count, 0);
  EXPECT_EQ(m.created_at, m.updated_at);

  PersonalModel named =
      models.add({.user_id = user, .model_id = "reasoning-master", .custom_name = "my reasoner"});
  EXPECT_EQ(models.find_by_name(user, "my reasoner")->id, named.id);
  EXPECT_FALSE(models.find_by_name(user, "nope").has_value());
  EXPECT_FALSE(models.find(named.id + 1000).has_value());
}

TEST_P(PersonalModelsTest, NamesAreUniquePerUserOnly) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  PersonalModels models(db);
  models.add({.user_id = ada, .model_id = "m", .custom_name = "mine"});
  EXPECT_DB_ERROR(models.add({.user_id = ada, .model_id = "other", .custom_name = "mine"}),
                  ErrorKind::conflict);
  EXPECT_NO_THROW(models.add({.user_id = bob, .model_id = "m", .custom_name = "mine"}));
  EXPECT_DB_ERROR(models.add({.user_id = ada + bob + 100, .model_id = "m"}), ErrorKind::not_found);
  EXPECT_DB_ERROR(models.add({.user_id = ada, .model_id = ""}), ErrorKind::invalid_input);
}

TEST_P(PersonalModelsTest, ListForUserIsOldestFirstAndPerUser) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  PersonalModels models(db);
  auto a1 = models.add({.user_id = ada, .model_id = "one"});
  models.add({.user_id = bob, .model_id = "theirs"});
  auto a2 = models.add({.user_id = ada, .model_id = "two"});
  auto list = models.list_for_user(ada);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, a1.id);
  EXPECT_EQ(list[1].id, a2.id);
  EXPECT_TRUE(models.list_for_user(ada + bob + 100).empty());
}

TEST_P(PersonalModelsTest, AFullDownloadWalksTheStatusGraph) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  auto m = models.add({.user_id = user, .model_id = "m"});
  models.set_status(m.id, ModelStatus::downloading, 0);
  models.set_progress(m.id, 12.5);
  EXPECT_DOUBLE_EQ(models.find(m.id)->download_progress, 12.5);
  models.set_progress(m.id, 99);
  models.set_status(m.id, ModelStatus::verifying);
  EXPECT_DOUBLE_EQ(models.find(m.id)->download_progress, 99);  // kept when none is given
  models.set_local_path(m.id, "/blobs/sha256-abc");
  models.set_status(m.id, ModelStatus::installed);
  PersonalModel done = *models.find(m.id);
  EXPECT_EQ(done.status, ModelStatus::installed);
  EXPECT_DOUBLE_EQ(done.download_progress, 100);
  EXPECT_EQ(done.local_path, "/blobs/sha256-abc");
  EXPECT_GE(done.updated_at, m.updated_at);
}

TEST_P(PersonalModelsTest, FailureAndRetry) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  auto m = models.add({.user_id = user, .model_id = "m"});
  models.set_status(m.id, ModelStatus::downloading, 40);
  models.set_status(m.id, ModelStatus::failed);
  EXPECT_EQ(models.find(m.id)->status, ModelStatus::failed);
  EXPECT_DB_ERROR(models.set_progress(m.id, 50), ErrorKind::conflict);
  models.set_status(m.id, ModelStatus::pending);  // retry starts over
  EXPECT_EQ(models.find(m.id)->status, ModelStatus::pending);
  EXPECT_DOUBLE_EQ(models.find(m.id)->download_progress, 0);
}

TEST_P(PersonalModelsTest, EveryIllegalTransitionIsAConflictAndChangesNothing) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  // Puts a fresh model into `status` along legal steps.
  auto model_in = [&](ModelStatus status, int n) {
    auto m = models.add({.user_id = user, .model_id = "m", .custom_name = std::to_string(n)});
    const ModelStatus path[] = {ModelStatus::downloading, ModelStatus::verifying,
                                ModelStatus::installed};
    if (status == ModelStatus::failed) {
      models.set_status(m.id, ModelStatus::failed);
    } else {
      for (ModelStatus step : path) {
        if (m.status == status) break;
        models.set_status(m.id, step);
        m.status = step;
      }
    }
    return m.id;
  };
  int n = 0, illegal = 0;
  for (ModelStatus from : kAllStatuses) {
    for (ModelStatus to : kAllStatuses) {
      std::int64_t id = model_in(from, n++);
      ASSERT_EQ(models.find(id)->status, from);
      if (can_change(from, to)) {
        EXPECT_NO_THROW(models.set_status(id, to)) << to_string(from) << " → " << to_string(to);
      } else {
        ++illegal;
        EXPECT_DB_ERROR(models.set_status(id, to), ErrorKind::conflict);
        EXPECT_EQ(models.find(id)->status, from);
      }
    }
  }
  EXPECT_EQ(illegal, 25 - 7);  // seven legal edges in the graph
  EXPECT_DB_ERROR(models.set_status(99999, ModelStatus::downloading), ErrorKind::not_found);
}

TEST_P(PersonalModelsTest, ProgressMustBeAPercentage) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  auto m = models.add({.user_id = user, .model_id = "m"});
  EXPECT_DB_ERROR(models.set_progress(m.id, 10), ErrorKind::conflict);  // still pending
  models.set_status(m.id, ModelStatus::downloading);
  EXPECT_DB_ERROR(models.set_progress(m.id, -1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.set_progress(m.id, 100.5), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.set_progress(m.id, std::nan("")), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.set_status(m.id, ModelStatus::verifying, 101), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.set_progress(99999, 10), ErrorKind::not_found);
}

TEST_P(PersonalModelsTest, RenameUsageTrainingAndRemove) {
  std::int64_t user = make_user();
  Database db = open();
  PersonalModels models(db);
  auto a = models.add({.user_id = user, .model_id = "m", .custom_name = "a"});
  auto b = models.add({.user_id = user, .model_id = "m", .custom_name = "b"});
  models.rename(a.id, "alpha");
  EXPECT_EQ(models.find(a.id)->custom_name, "alpha");
  EXPECT_DB_ERROR(models.rename(b.id, "alpha"), ErrorKind::conflict);
  EXPECT_DB_ERROR(models.rename(b.id, ""), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.rename(99999, "x"), ErrorKind::not_found);

  models.record_usage(a.id);
  models.record_usage(a.id);
  EXPECT_EQ(models.find(a.id)->usage_count, 2);
  EXPECT_DB_ERROR(models.record_usage(99999), ErrorKind::not_found);

  models.set_performance_score(b.id, 12.5);
  ASSERT_TRUE(models.find(b.id)->performance_score.has_value());
  EXPECT_DOUBLE_EQ(*models.find(b.id)->performance_score, 12.5);
  EXPECT_FALSE(models.find(b.id)->fine_tuned);
  EXPECT_DB_ERROR(models.set_performance_score(b.id, -1), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(models.set_performance_score(99999, 1), ErrorKind::not_found);

  using namespace std::chrono;
  Timestamp trained = sys_days(year(2025) / 3 / 14) + hours(15) + milliseconds(926);
  models.record_training(a.id, 3, trained, 0.875);
  auto t = *models.find(a.id);
  EXPECT_TRUE(t.fine_tuned);
  EXPECT_EQ(t.fine_tune_version, 3);
  ASSERT_TRUE(t.last_training_date.has_value());
  EXPECT_EQ(format_time(*t.last_training_date), "2025-03-14T15:00:00.926Z");
  ASSERT_TRUE(t.performance_score.has_value());
  EXPECT_DOUBLE_EQ(*t.performance_score, 0.875);
  models.record_training(a.id, 4, trained, std::nullopt);
  EXPECT_FALSE(models.find(a.id)->performance_score.has_value());

  EXPECT_TRUE(models.remove(a.id));
  EXPECT_FALSE(models.remove(a.id));
  EXPECT_FALSE(models.find(a.id).has_value());
  EXPECT_TRUE(models.find(b.id).has_value());
}

TEST(ModelStatus, TextRoundTripsAndUnknownTextIsCorrupt) {
  for (ModelStatus s : kAllStatuses) EXPECT_EQ(model_status_from(to_string(s)), s);
  EXPECT_DB_ERROR(model_status_from("Installed"), ErrorKind::corrupt_file);
  EXPECT_DB_ERROR(model_status_from(""), ErrorKind::corrupt_file);
}

}  // namespace
}  // namespace hearth::db
