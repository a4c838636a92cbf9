// Helpers for the db tests: every repository test runs once per backend, on a database of its own.
//   SQLite:     a fresh file in a temporary folder.
//   PostgreSQL: a fresh schema in the server at $HEARTH_TEST_POSTGRES_URL (scripts/test.sh starts
//               one through scripts/postgres.sh), dropped after the test. When the variable is
//               unset the PostgreSQL variants skip and say so.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "core/error.h"
#include "db/db.h"
#include "support/test_support.h"

namespace hearth::db::test {

std::optional<std::string> postgres_url();  // $HEARTH_TEST_POSTGRES_URL when set

}  // namespace hearth::db::test

namespace hearth::db {
// Names the backend in gtest's (and so ctest's) test names.
inline void PrintTo(Backend b, std::ostream* os) {
  *os << backend_name(b);
}
}  // namespace hearth::db

namespace hearth::db::test {

// One throwaway database on one backend.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(Backend backend);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  const std::string& url() const { return url_; }

 private:
  Backend backend_;
  std::string url_;
  std::unique_ptr<hearth::test::TempDir> dir_;  // SQLite
  std::string schema_;                          // PostgreSQL
};

// Runs SQL directly on a pooled connection of `db` (for planting bad data).
void raw_sql(const Database& db, const std::string& sql);

// The fixture of every backend-parameterised test.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override { scratch_.reset(); }
  const std::string& url() const { return scratch_->url(); }
  Database open(const OpenOptions& options = {}) { return Database::open(url(), options); }
  // A user to own things (each test's database starts empty).
  std::int64_t make_user(const std::string& name = "ada");

 private:
  std::unique_ptr<ScratchDatabase> scratch_;
};

std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info);

#define HEARTH_DB_BACKENDS(fixture)                                                        \
  INSTANTIATE_TEST_SUITE_P(                                                                \
      Backends, fixture,                                                                   \
      ::testing::Values(::hearth::db::Backend::sqlite, ::hearth::db::Backend::postgresql), \
      ::hearth::db::test::backend_test_name)

// Runs `stmt` and checks it throws a hearth::Error of `expected_kind`.
#define EXPECT_DB_ERROR(stmt, expected_kind)                                                \
  do {                                                                                      \
    try {                                                                                   \
      stmt;                                                                                 \
      ADD_FAILURE() << #stmt " did not throw; expected " << error_kind_name(expected_kind); \
    } catch (const ::hearth::Error& e) {                                                    \
      EXPECT_EQ(error_kind_name(e.kind()), error_kind_name(expected_kind)) << e.what();     \
    }                                                                                       \
  } while (0)

}  // namespace hearth::db::test
