// Opening databases: URLs, migrations (from empty, idempotent, upgrade, newer refused), the
// SQLite settings, time text, error mapping, and concurrent writers.
#include <cstdlib>
#include <thread>

#include "core/paths.h"
#include "db/internal.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

using test::BackendTest;

int count_rows(const Database& db, const std::string& table) {
  return detail::with_session(*db.impl(), "test count", [&](soci::session& sql) {
    int n = -1;
    sql << "SELECT COUNT(*) FROM " + table, soci::into(n);
    return n;
  });
}

class DatabaseTest : public BackendTest {};
HEARTH_DB_BACKENDS(DatabaseTest);

TEST_P(DatabaseTest, MigratesAnEmptyDatabaseToTheLatestSchema) {
  Database db = open();
  EXPECT_EQ(db.backend(), GetParam());
  EXPECT_EQ(db.schema_version(), Database::latest_schema_version());
  EXPECT_GE(Database::latest_schema_version(), 3);
  EXPECT_EQ(count_rows(db, "schema_migrations"), Database::latest_schema_version());
  for (const char* table :
       {"users", "user_personal_models", "personal_model_training_jobs", "desktop_app_connections"})
    EXPECT_EQ(count_rows(db, table), 0) << table;
}

TEST_P(DatabaseTest, ReopeningIsIdempotentAndKeepsData) {
  std::int64_t user = make_user();
  {
    Database db = open();
    PersonalModels(db).add({.user_id = user, .model_id = "reasoning-master"});
  }
  Database again = open();
  Database third = open();
  EXPECT_EQ(third.schema_version(), Database::latest_schema_version());
  EXPECT_EQ(count_rows(third, "schema_migrations"), Database::latest_schema_version());
  EXPECT_EQ(PersonalModels(third).list_for_user(user).size(), 1u);
}

TEST_P(DatabaseTest, UpgradesAnOlderSchemaInPlace) {
  std::int64_t model_id = 0;
  {
    Database v1 = open({.migrate_to = 1});
    EXPECT_EQ(v1.schema_version(), 1);
    EXPECT_DB_ERROR(count_rows(v1, "personal_model_training_jobs"), ErrorKind::io);
    auto user = Users(v1).create("old", "", "");
    model_id = PersonalModels(v1).add({.user_id = user.id, .model_id = "m"}).id;
  }
  Database db = open();
  EXPECT_EQ(db.schema_version(), Database::latest_schema_version());
  auto model = PersonalModels(db).find(model_id);
  ASSERT_TRUE(model.has_value());
  auto job = TrainingJobs(db).create(model->user_id, model_id, 10);
  EXPECT_EQ(job.status, JobStatus::queued);
}

TEST_P(DatabaseTest, RefusesASchemaFromANewerHearth) {
  int newer = Database::latest_schema_version() + 1;
  {
    Database db = open();
    test::raw_sql(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                          std::to_string(newer) + ", '2030-01-01T00:00:00.000Z')");
  }
  try {
    open();
    FAIL() << "a newer schema was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(newer)), std::string::npos) << e.what();
  }
}

TEST_P(DatabaseTest, RejectsAnUnknownTargetVersion) {
  EXPECT_DB_ERROR(open({.migrate_to = Database::latest_schema_version() + 1}),
                  ErrorKind::invalid_input);
}

TEST_P(DatabaseTest, ConcurrentWritersFromTwoThreadsAllLand) {
  std::int64_t user = make_user();
  Database setup = open();
  auto model = PersonalModels(setup).add({.user_id = user, .model_id = "shared"});
  constexpr int kPerThread = 60;
  // Two handles with their own pools: on SQLite they contend for the file's write lock, and
  // only the busy timeout lets both finish.
  auto writer = [&](int t) {
    Database db = open({.pool_size = 2});
    PersonalModels models(db);
    for (int i = 0; i < kPerThread; ++i) {
      models.record_usage(model.id);
      models.add({.user_id = user, .model_id = "m", .custom_name = std::to_string(t * 1000 + i)});
    }
  };
  std::thread a(writer, 1), b(writer, 2);
  a.join();
  b.join();
  PersonalModels models(setup);
  EXPECT_EQ(models.find(model.id)->usage_count, 2 * kPerThread);
  EXPECT_EQ(models.list_for_user(user).size(), 1u + 2 * kPerThread);
}

TEST_P(DatabaseTest, StatusTextFromTheFutureIsCorruptData) {
  std::int64_t user = make_user();
  Database db = open();
  auto model = PersonalModels(db).add({.user_id = user, .model_id = "m"});
  test::raw_sql(db, "UPDATE user_personal_models SET status = 'teleporting' WHERE id = " +
                        std::to_string(model.id));
  EXPECT_DB_ERROR(PersonalModels(db).find(model.id), ErrorKind::corrupt_file);
  EXPECT_DB_ERROR(PersonalModels(db).set_status(model.id, ModelStatus::downloading),
                  ErrorKind::corrupt_file);
}

TEST(Database, EmptyUrlMeansSqliteInHearthHomeWithWalAndForeignKeys) {
  hearth::test::TempDir dir;
  ::setenv("HEARTH_HOME", (dir.path() / "nested" / "home").c_str(), 1);
  Database db = Database::open("");
  ::unsetenv("HEARTH_HOME");
  EXPECT_EQ(db.backend(), Backend::sqlite);
  EXPECT_EQ(db.location(), (dir.path() / "nested" / "home" / "hearth.db").string());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "nested" / "home" / "hearth.db"));
  detail::with_session(*db.impl(), "pragmas", [](soci::session& sql) {
    std::string mode;
    int fk = 0, busy = 0;
    sql << "PRAGMA journal_mode", soci::into(mode);
    sql << "PRAGMA foreign_keys", soci::into(fk);
    sql << "PRAGMA busy_timeout", soci::into(busy);
    EXPECT_EQ(mode, "wal");
    EXPECT_EQ(fk, 1);
    EXPECT_GT(busy, 0);
  });
}

TEST(Database, PathsWithSpacesWork) {
  hearth::test::TempDir dir;
  std::string file = (dir.path() / "my models" / "hearth db.sqlite").string();
  Database db = Database::open("sqlite://" + file);
  EXPECT_EQ(db.location(), file);
  EXPECT_TRUE(std::filesystem::exists(file));
}

TEST(Database, BadUrlsSayWhatIsWrong) {
  try {
    Database::open("mysql://root:hunter2@localhost/db");
    FAIL() << "mysql URL accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    std::string msg = e.what();
    EXPECT_NE(msg.find("postgresql://"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << "password leaked: " << msg;
  }
  EXPECT_DB_ERROR(Database::open("sqlite://"), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(Database::open("sqlite:///proc/hearth-no-such/x.db"), ErrorKind::io);
}

TEST(Database, UnreachablePostgresIsUnavailable) {
  // Port 1 on loopback: nothing listens there, so libpq is refused at once.
  try {
    Database::open("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=5");
    FAIL() << "connected to nothing";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable) << e.what();
    std::string msg = e.what();
    EXPECT_NE(msg.find("127.0.0.1"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("secret"), std::string::npos) << "password leaked: " << msg;
  }
}

TEST(Database, SqliteBusyPastTheTimeoutIsUnavailable) {
  hearth::test::TempDir dir;
  std::string url = "sqlite://" + (dir.path() / "busy.db").string();
  Database holder = Database::open(url, {.pool_size = 1});
  Database waiter =
      Database::open(url, {.pool_size = 1, .busy_timeout = std::chrono::milliseconds(200)});
  std::int64_t user = Users(holder).create("u", "", "").id;
  detail::Lease lease(*holder.impl());
  lease.sql() << "BEGIN IMMEDIATE";  // holds the write lock
  auto start = std::chrono::steady_clock::now();
  EXPECT_DB_ERROR(PersonalModels(waiter).add({.user_id = user, .model_id = "m"}),
                  ErrorKind::unavailable);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
  lease.sql() << "ROLLBACK";
  EXPECT_NO_THROW(PersonalModels(waiter).add({.user_id = user, .model_id = "m"}));
}

TEST(PostgresUrl, BecomesLibpqKeywords) {
  EXPECT_EQ(detail::postgres_connect_string("postgresql://hearth@127.0.0.1:5432/hearth_test", ""),
            "host='127.0.0.1' port='5432' dbname='hearth_test' user='hearth'");
  EXPECT_EQ(
      detail::postgres_connect_string(
          "postgres://u%40x:p'a%20ss@[::1]:6000/db?sslmode=require&options=-csearch_path%3Ds", ""),
      "host='::1' port='6000' dbname='db' user='u@x' password='p\\'a ss' "
      "sslmode='require' options='-csearch_path=s'");
  EXPECT_EQ(detail::postgres_connect_string("postgresql://localhost", ""), "host='localhost'");
  EXPECT_DB_ERROR(detail::postgres_connect_string("postgresql://h:port/db", ""),
                  ErrorKind::invalid_input);
  EXPECT_DB_ERROR(detail::postgres_connect_string("postgresql://h/db?novalue", ""),
                  ErrorKind::invalid_input);
  EXPECT_DB_ERROR(detail::postgres_connect_string("postgresql://h/db%zz", ""),
                  ErrorKind::invalid_input);
}

TEST(Time, FormatsAndParsesIsoUtcWithMilliseconds) {
  using namespace std::chrono;
  Timestamp t =
      sys_days(year(2024) / 2 / 29) + hours(23) + minutes(5) + seconds(9) + milliseconds(7);
  EXPECT_EQ(format_time(t), "2024-02-29T23:05:09.007Z");
  EXPECT_EQ(parse_time("2024-02-29T23:05:09.007Z"), t);
  Timestamp n = now();
  EXPECT_EQ(parse_time(format_time(n)), n);
  EXPECT_EQ(format_time(Timestamp{}), "1970-01-01T00:00:00.000Z");
}

TEST(Time, RejectsAnythingElse) {
  for (const char* bad : {"", "2024-02-29", "2024-02-29T23:05:09Z", "2024-02-30T00:00:00.000Z",
                          "2024-02-29 23:05:09.007Z", "2024-02-29T24:00:00.000Z",
                          "2024-02-29T23:05:09.007+01:00", "2O24-02-29T23:05:09.007Z"})
    EXPECT_DB_ERROR(parse_time(bad), ErrorKind::corrupt_file);
}

}  // namespace
}  // namespace hearth::db
