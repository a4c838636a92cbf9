// Database::open: URL → backend, the connection pool, per-connection settings; leases,
// transactions and the mapping of database failures to hearth::Error.
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <filesystem>

#include "core/paths.h"
#include "db/internal.h"
#include "db/migrations.h"
#include "db/sealing.h"

namespace hearth::db {
namespace {

// The URL with the password (user:PASSWORD@host) masked, for messages and location().
std::string mask_password(const std::string& url) {
  std::size_t scheme = url.find("://");
  std::size_t at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  std::size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// The SOCI sqlite3 connect string for a file: the quoted form keeps spaces in paths.
std::string sqlite_connect_string(const std::filesystem::path& file) {
  std::string p = file.string();
  if (p.find('"') != std::string::npos)
    throw Error(
        ErrorKind::invalid_input,
        "database path '" + p + "' contains a double quote, which SQLite's driver cannot take");
  return "db=\"" + p + "\"";
}

std::string_view sqlstate_class_of(const std::string& state) {
  return std::string_view(state).substr(0, 2);
}

}  // namespace

std::string_view backend_name(Backend b) {
  return b == Backend::sqlite ? "sqlite" : "postgresql";
}

Database Database::open(const std::string& url, const OpenOptions& options) {
  if (options.pool_size == 0)
    throw Error(ErrorKind::invalid_input, "database: the connection pool needs at least one");
  Backend backend;
  std::string location;
  std::string connect;
  if (url.empty() || url.starts_with("sqlite://")) {
    std::filesystem::path file =
        url.empty() ? paths::database() : std::filesystem::path(url.substr(9));
    if (file.empty())
      throw Error(ErrorKind::invalid_input,
                  "database URL 'sqlite://' names no file: use sqlite:///absolute/path.db");
    if (file.has_parent_path()) paths::ensure_directory(file.parent_path());
    backend = Backend::sqlite;
    location = file.string();
    connect = sqlite_connect_string(file);
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    backend = Backend::postgresql;
    location = mask_password(url);
    connect = detail::postgres_connect_string(url, location);
  } else {
    throw Error(ErrorKind::invalid_input,
                "database URL '" + mask_password(url) +
                    "' is not one hearth knows: set HEARTH_DB to nothing (SQLite in HEARTH_HOME), "
                    "sqlite:///path/to/file.db or postgresql://user@host:port/database");
  }

  auto impl = std::make_shared<Impl>(backend, location, connect, options);
  impl->keys = std::make_shared<detail::Keys>();
  for (std::size_t i = 0; i < options.pool_size; ++i) {
    try {
      detail::connect(*impl, impl->pool.at(i));
    } catch (...) {
      try {
        detail::rethrow_as_error(*impl, "connecting to " + location);
      } catch (const Error& e) {
        // Whatever libpq says when it cannot connect, the server is out of reach from here.
        if (backend == Backend::postgresql && e.kind() == ErrorKind::io)
          throw Error(ErrorKind::unavailable, e.what());
        throw;
      }
    }
  }
  Database db(std::move(impl));
  detail::migrate(*db.impl_, options.migrate_to);
  // Keys come with the schema that holds them (tests may stop at an older version).
  if (db.schema_version() >= 11) detail::open_keys(*db.impl_);
  return db;
}

Backend Database::backend() const {
  return impl_->backend;
}
const std::string& Database::location() const {
  return impl_->location;
}
int Database::schema_version() const {
  return detail::with_session(*impl_, "reading the schema version",
                              [&](soci::session& sql) { return detail::applied_version(sql); });
}
int Database::latest_schema_version() {
  return detail::latest_version();
}

namespace detail {

// Per-connection settings, applied after every open and reconnect.
void configure(const Database::Impl& db, soci::session& sql) {
  if (db.backend == Backend::postgresql) {
    // libpq prints NOTICEs on stderr (e.g. "already exists, skipping"): keep hearth's output clean.
    sql << "SET client_min_messages TO warning";
    return;
  }
  // busy_timeout first: switching to WAL needs a lock that another connection may hold.
  sql << "PRAGMA busy_timeout = " + std::to_string(db.options.busy_timeout.count());
  std::string mode;
  sql << "PRAGMA journal_mode = WAL", soci::into(mode);
  sql << "PRAGMA synchronous = NORMAL";  // durable at each checkpoint, safe in WAL mode
  sql << "PRAGMA foreign_keys = ON";
}

void connect(const Database::Impl& db, soci::session& sql) {
  if (db.backend == Backend::postgresql)
    sql.open(*soci::factory_postgresql(), db.connect_string);
  else
    sql.open(*soci::factory_sqlite3(), db.connect_string);
  configure(db, sql);
}

Lease::Lease(Database::Impl& db) : db_(db) {
  if (!db.pool.try_lease(pos_, static_cast<int>(db.options.lease_timeout.count())))
    throw Error(ErrorKind::unavailable, "database: all " + std::to_string(db.options.pool_size) +
                                            " connections to " + db.location + " stayed busy for " +
                                            std::to_string(db.options.lease_timeout.count()) +
                                            " ms; try again");
  session_ = &db.pool.at(pos_);
  // A PostgreSQL connection the server dropped (restart, idle timeout) is opened again.
  if (!session_->is_connected()) {
    try {
      session_->reconnect();
      configure(db, *session_);
    } catch (...) {
      db.pool.give_back(pos_);
      throw;
    }
  }
}

Lease::~Lease() {
  db_.pool.give_back(pos_);
}

[[noreturn]] void rethrow_as_error(const Database::Impl& db, std::string_view doing) {
  std::string prefix = "database: " + std::string(doing) + ": ";
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const soci::postgresql_soci_error& e) {
    std::string state = e.sqlstate();
    std::string_view cls = sqlstate_class_of(state);
    std::string msg = prefix + e.get_error_message();
    if (state == "23505") throw Error(ErrorKind::conflict, msg);
    if (state == "23503") throw Error(ErrorKind::not_found, msg);
    if (cls == "23" || cls == "22") throw Error(ErrorKind::invalid_input, msg);  // bad values
    if (cls == "08" || cls == "53" || cls == "57" || cls == "40" ||
        e.get_error_category() == soci::soci_error::connection_error)
      throw Error(ErrorKind::unavailable, msg);
    throw Error(ErrorKind::io, msg);
  } catch (const soci::sqlite3_soci_error& e) {
    std::string text = e.get_error_message();
    std::string msg = prefix + text;
    int code = e.result() & 0xff;  // the primary code of an extended one
    if (code == SQLITE_CONSTRAINT) {
      if (text.find("UNIQUE") != std::string::npos || text.find("PRIMARY KEY") != std::string::npos)
        throw Error(ErrorKind::conflict, msg);
      if (text.find("FOREIGN KEY") != std::string::npos) throw Error(ErrorKind::not_found, msg);
      throw Error(ErrorKind::invalid_input, msg);  // CHECK (e.g. json_valid), NOT NULL
    }
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      throw Error(ErrorKind::unavailable, msg + " (the database stayed locked; try again)");
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) throw Error(ErrorKind::corrupt_file, msg);
    throw Error(ErrorKind::io, msg);
  } catch (const soci::soci_error& e) {
    // Raised by SOCI itself (e.g. PostgreSQL refusing the connection before any SQLSTATE).
    std::string msg = prefix + e.get_error_message();
    if (db.backend == Backend::postgresql &&
        (e.get_error_category() == soci::soci_error::connection_error ||
         msg.find("connection") != std::string::npos))
      throw Error(ErrorKind::unavailable, msg);
    throw Error(ErrorKind::io, msg);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::internal, prefix + e.what());
  }
}

void begin(const Database::Impl& db, soci::session& sql) {
  // IMMEDIATE takes SQLite's write lock up front, waiting up to busy_timeout for it. A deferred
  // transaction that reads first and writes later can instead fail at once with SQLITE_BUSY when
  // another connection wrote in between (the busy handler cannot help a stale read snapshot).
  sql << (db.backend == Backend::sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
}

void rollback_quietly(soci::session& sql) noexcept {
  try {
    sql << "ROLLBACK";
  } catch (...) {
    // Nothing open to roll back, or the connection is gone; either way nothing is left pending.
  }
}

std::string time_column(const Database::Impl& db, std::string_view column) {
  std::string c(column);
  if (db.backend == Backend::sqlite) return c;
  return "to_char(" + c + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

std::string json_column(const Database::Impl& db, std::string_view column) {
  std::string c(column);
  return db.backend == Backend::sqlite ? c : c + "::text";
}

Timestamp read_time(const std::string& text, std::string_view column) {
  try {
    return parse_time(text);
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt_file,
                "database: column " + std::string(column) + ": " + e.what());
  }
}

std::optional<Timestamp> read_time(const std::string& text, soci::indicator ind,
                                   std::string_view column) {
  if (ind == soci::i_null) return std::nullopt;
  return read_time(text, column);
}

int check_model_owner(soci::session& sql, long long model, long long user) {
  long long owner = 0;
  int served = 0;
  // PostgreSQL: the row stays locked until the transaction ends, so that deploys and new jobs
  // of one model take turns (SQLite's BEGIN IMMEDIATE already serialises writers).
  const std::string lock = sql.get_backend_name() == "postgresql" ? " FOR UPDATE" : "";
  soci::statement st = (sql.prepare << "SELECT user_id, fine_tune_version FROM "
                                       "user_personal_models WHERE id = :m" + lock,
                        soci::into(owner), soci::into(served), soci::use(model));
  if (!st.execute(true))
    throw Error(ErrorKind::not_found, "personal model " + std::to_string(model) + " does not exist");
  if (owner != user)
    throw Error(ErrorKind::invalid_input,
                "personal model " + std::to_string(model) + " belongs to another user");
  return served;
}

void check_percent(double percent, std::string_view what) {
  if (!(percent >= 0 && percent <= 100))  // also false for NaN
    throw Error(
        ErrorKind::invalid_input,
        std::string(what) + ": progress " + std::to_string(percent) + " is outside 0..100 percent");
}

}  // namespace detail
}  // namespace hearth::db
