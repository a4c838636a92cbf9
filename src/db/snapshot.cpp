// SQLite side of db/snapshot.h, through SQLite's C API (SOCI does not expose the backup API).
#include "db/snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "core/error.h"
#include "core/paths.h"

namespace hearth::db::snapshot {
namespace {

// One sqlite3 handle, closed on scope exit.
class Handle {
 public:
  Handle(const std::filesystem::path& file, int flags) {
    const int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(ErrorKind::io, file.string() + ": cannot open the database: " + why);
    }
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~Handle() { sqlite3_close(db_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  sqlite3* get() const { return db_; }
  std::string error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_ = nullptr;
};

// Every row's first column as text.
std::vector<std::string> column_texts(const Handle& db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql, -1, &st, nullptr) != SQLITE_OK)
    throw Error(ErrorKind::io, std::string("database: ") + sql + ": " + db.error());
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    out.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    throw Error(ErrorKind::io, std::string("database: ") + sql + ": " + db.error());
  return out;
}

}  // namespace

Backend backend_of(const std::string& url) {
  if (url.empty() || url.starts_with("sqlite://")) return Backend::sqlite;
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return Backend::postgresql;
  throw Error(ErrorKind::invalid_input,
              "HEARTH_DB: not a database URL hearth knows (sqlite:///path or postgresql://...)");
}

std::filesystem::path sqlite_file(const std::string& url) {
  if (backend_of(url) != Backend::sqlite)
    throw Error(ErrorKind::invalid_input, "HEARTH_DB names a PostgreSQL database, not a file");
  if (url.empty()) return paths::database();
  std::filesystem::path file(url.substr(9));
  if (file.empty())
    throw Error(ErrorKind::invalid_input,
                "database URL 'sqlite://' names no file: use sqlite:///absolute/path.db");
  return file;
}

void sqlite_copy(const std::filesystem::path& source, const std::filesystem::path& dest) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(source, ec))
    throw Error(ErrorKind::not_found, source.string() + ": no database there to back up");
  // Read-write without create: a WAL database's readers may need to write its -shm file; the
  // data itself is only read.
  Handle from(source, SQLITE_OPEN_READWRITE);
  Handle to(dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE);
  sqlite3_backup* copy = sqlite3_backup_init(to.get(), "main", from.get(), "main");
  if (copy == nullptr)
    throw Error(ErrorKind::io, dest.string() + ": cannot start the backup: " + to.error());
  // All pages in one step: one read transaction, so one consistent moment. A writer holding
  // an exclusive lock (a checkpoint, a non-WAL database) makes a step answer BUSY: wait.
  int rc;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((rc = sqlite3_backup_step(copy, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (std::chrono::steady_clock::now() > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sqlite3_backup_finish(copy);
  ::chmod(dest.c_str(), 0600);  // it holds everything the live file holds
  if (rc != SQLITE_DONE)
    throw Error(rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? ErrorKind::unavailable : ErrorKind::io,
                source.string() + ": backup of the database failed: " + sqlite3_errstr(rc));
  // One file, no WAL beside it: the copy is complete on its own.
  char* err = nullptr;
  if (sqlite3_exec(to.get(), "PRAGMA journal_mode = DELETE", nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    throw Error(ErrorKind::io, dest.string() + ": " + why);
  }
}

std::string sqlite_integrity(const std::filesystem::path& file) {
  Handle db(file, SQLITE_OPEN_READONLY);
  std::vector<std::string> lines;
  try {
    lines = column_texts(db, "PRAGMA integrity_check(5)");
  } catch (const Error& e) {
    return e.what();
  }
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : "; ") + line;
  return out.empty() ? "no answer from the integrity check" : out;
}

bool sqlite_in_use(const std::filesystem::path& file) {
  // SQLite's unix VFS keeps a shared lock on byte 128 of the -shm file (its "DMS" slot) for as
  // long as a connection has the WAL database open; nobody holds it once all are closed.
  const std::filesystem::path shm = file.string() + "-shm";
  const int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe{};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  probe.l_start = 128;
  probe.l_len = 1;
  const bool busy = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return busy;
}

int sqlite_schema_version(const std::filesystem::path& file) {
  Handle db(file, SQLITE_OPEN_READONLY);
  const auto has = column_texts(
      db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
  if (has.empty()) return 0;
  const auto v = column_texts(db, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  return v.empty() ? 0 : std::stoi(v.front());
}

}  // namespace hearth::db::snapshot
