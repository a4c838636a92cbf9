// Inside the db module: the connection pool, leases, transactions, error mapping and the few
// places where SQLite and PostgreSQL SQL differ. Not part of the public API (db.h is); tests use it
// to reach the raw connection.
#pragma once

#include <soci/soci.h>

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"
#include "db/db.h"

namespace hearth::db {

namespace detail {
struct Keys;  // db/sealing.h
}

struct Database::Impl {
  Impl(Backend b, std::string loc, std::string connect, const OpenOptions& opts)
      : backend(b),
        location(std::move(loc)),
        connect_string(std::move(connect)),
        options(opts),
        pool(opts.pool_size) {}
  Backend backend;
  std::string location;        // safe to print
  std::string connect_string;  // what SOCI's backend gets (may hold a password)
  OpenOptions options;
  soci::connection_pool pool;  // options.pool_size sessions, all opened by Database::open
  std::shared_ptr<detail::Keys> keys;  // the master key and users' data keys (db/sealing.h)
};

namespace detail {

// A postgresql:// URL as a libpq keyword/value string (masked: the URL for error messages).
std::string postgres_connect_string(const std::string& url, std::string_view masked);

// Opens one SOCI session to the database (and sets SQLite's per-connection pragmas).
void connect(const Database::Impl& db, soci::session& sql);

// One pooled connection for one unit of work, returned to the pool when it goes away.
class Lease {
 public:
  explicit Lease(Database::Impl& db);  // Error(unavailable) when none frees up in time
  ~Lease();
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  soci::session& sql() { return *session_; }

 private:
  Database::Impl& db_;
  std::size_t pos_ = 0;
  soci::session* session_ = nullptr;
};

// Call only inside a catch block: rethrows the exception in flight as a hearth::Error, worded
// "database: <doing>: <the database's message>" (hearth::Errors pass through unchanged).
[[noreturn]] void rethrow_as_error(const Database::Impl& db, std::string_view doing);

// Runs fn(soci::session&) on a leased connection; failures become hearth::Errors.
template <class F>
auto with_session(Database::Impl& db, std::string_view doing, F&& fn) {
  try {
    Lease lease(db);
    return fn(lease.sql());
  } catch (...) {
    rethrow_as_error(db, doing);
  }
}

void begin(const Database::Impl& db, soci::session& sql);  // SQLite: BEGIN IMMEDIATE (see .cpp)
void rollback_quietly(soci::session& sql) noexcept;

// Runs fn(soci::session&) in one transaction: committed when fn returns, rolled back when it
// throws.
template <class F>
auto in_transaction(Database::Impl& db, std::string_view doing, F&& fn) {
  return with_session(db, doing, [&](soci::session& sql) {
    begin(db, sql);
    try {
      if constexpr (std::is_void_v<decltype(fn(sql))>) {
        fn(sql);
        sql << "COMMIT";
      } else {
        auto result = fn(sql);
        sql << "COMMIT";
        return result;
      }
    } catch (...) {
      rollback_quietly(sql);
      throw;
    }
  });
}

// Runs a statement that returns no rows, binding each soci::use(...) in order; returns how many
// rows it changed.
template <class... Uses>
long long execute(soci::session& sql, const std::string& query, Uses&&... uses) {
  soci::statement st(sql);
  (st.exchange(std::forward<Uses>(uses)), ...);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  st.execute(true);
  return st.get_affected_rows();
}

// Runs a query and converts every row: Row::bind(statement&) binds its columns with soci::into
// in select order, Row::get() turns the current row into the record.
template <class Row, class... Uses>
auto query_rows(soci::session& sql, const std::string& query, Uses&&... uses) {
  Row row;
  soci::statement st(sql);
  row.bind(st);
  (st.exchange(std::forward<Uses>(uses)), ...);
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  std::vector<decltype(row.get())> out;
  if (st.execute(true)) {
    do out.push_back(row.get());
    while (st.fetch());
  }
  return out;
}

// Select-list expressions that read a column the same way on both backends.
std::string time_column(const Database::Impl& db, std::string_view column);  // format_time text
std::string json_column(const Database::Impl& db, std::string_view column);  // JSON text

// Text → Timestamp for values read from the database (Error(corrupt_file) names the column).
Timestamp read_time(const std::string& text, std::string_view column);
std::optional<Timestamp> read_time(const std::string& text, soci::indicator ind,
                                   std::string_view column);

// Refuses percentages outside 0..100 (and NaN) with Error(invalid_input).
void check_percent(double percent, std::string_view what);

// Inside a transaction: the personal model `model` must exist (else Error(not_found)) and be
// `user`'s (else Error(invalid_input)). Returns the version it serves (fine_tune_version). On
// PostgreSQL the row is locked for the rest of the transaction.
int check_model_owner(soci::session& sql, long long model, long long user);

}  // namespace detail
}  // namespace hearth::db
