#include "db_test_support.h"

#include <soci/postgresql/soci-postgresql.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

#include "db/internal.h"

namespace hearth::db::test {

std::optional<std::string> postgres_url() {
  const char* url = std::getenv("HEARTH_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

ScratchDatabase::ScratchDatabase(Backend backend) : backend_(backend) {
  if (backend == Backend::sqlite) {
    dir_ = std::make_unique<hearth::test::TempDir>();
    url_ = "sqlite://" + (dir_->path() / "hearth.db").string();
    return;
  }
  // A schema per test keeps parallel ctest processes apart; search_path points the
  // connection at it through libpq's `options`.
  static std::atomic<int> counter{0};
  std::random_device rd;
  schema_ = "hearth_t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(rd() % 100000);
  std::string base = *postgres_url();
  soci::session admin(*soci::factory_postgresql(), detail::postgres_connect_string(base, base));
  admin << "CREATE SCHEMA " + schema_;
  url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
         schema_;
}

ScratchDatabase::~ScratchDatabase() {
  if (backend_ != Backend::postgresql) return;
  try {
    soci::session admin(*soci::factory_postgresql(),
                        detail::postgres_connect_string(*postgres_url(), "test server"));
    admin << "SET client_min_messages TO warning";
    admin << "DROP SCHEMA " + schema_ + " CASCADE";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test schema " << schema_ << ": " << e.what();
  }
}

void raw_sql(const Database& db, const std::string& sql) {
  detail::with_session(*db.impl(), "test SQL", [&](soci::session& s) { s << sql; });
}

void BackendTest::SetUp() {
  if (GetParam() == Backend::postgresql && !postgres_url())
    GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set: start a server with "
                    "scripts/postgres.sh start and export the URL it prints (make test does)";
  scratch_ = std::make_unique<ScratchDatabase>(GetParam());
}

std::int64_t BackendTest::make_user(const std::string& name) {
  Database db = open();
  return Users(db).create(name, name + "@example.com", "$argon2id$test").id;
}

std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info) {
  return std::string(backend_name(info.param));
}

}  // namespace hearth::db::test
