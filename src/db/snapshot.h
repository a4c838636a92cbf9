// Whole-database copies for `hearth backup` and `hearth restore` (cli/backup.cpp, cli/restore.cpp).
//
// SQLite: SQLite's online backup API copies every page of the live file inside one read
// transaction, so the copy is one consistent moment even while a server writes (WAL mode lets the
// writer go on). PostgreSQL: `pg_dump` (plain SQL, no owners or privileges, so it loads into a
// database owned by another role) and `psql --single-transaction` to load it: a failed load
// leaves the target as empty as it was.
//
// The PostgreSQL tools are found in PG_BIN, then /usr/lib/postgresql/<15..>/bin (where Debian puts
// them), then PATH. A password in the URL reaches them through PGPASSWORD, never the command line.
#pragma once

#include <filesystem>
#include <string>

#include "db/db.h"

namespace hearth::db::snapshot {

// The SQLite file a database URL names ("" → paths::database(), sqlite:///abs or sqlite://rel);
// Error(invalid_input) for a PostgreSQL or unknown URL.
std::filesystem::path sqlite_file(const std::string& url);
// Which backend a URL names (without connecting); Error(invalid_input) for an unknown scheme.
Backend backend_of(const std::string& url);

// Copies the live SQLite database `source` into the new file `dest` (which must not exist).
// Error(not_found) when there is no database, Error(io / unavailable) on failure.
void sqlite_copy(const std::filesystem::path& source, const std::filesystem::path& dest);
// "ok", or what SQLite's integrity check found (its first lines).
std::string sqlite_integrity(const std::filesystem::path& file);
// Whether another process has the SQLite database open right now (its shared-memory file is
// locked by every open connection in WAL mode).
bool sqlite_in_use(const std::filesystem::path& file);
// The highest applied migration recorded in a database file (0 when it has none).
int sqlite_schema_version(const std::filesystem::path& file);

// Dumps the PostgreSQL database `url` as plain SQL into the new file `dest`.
void postgres_dump(const std::string& url, const std::filesystem::path& dest);
// Loads a dump into `url`, all of it or nothing; Error(io) with psql's message on failure.
void postgres_load(const std::string& url, const std::filesystem::path& dump);
// Tables in `url`'s schemas (pg_catalog and information_schema aside): 0 for an empty database.
long long postgres_table_count(const std::string& url);
// The highest applied migration (0 when there is no schema_migrations table).
int postgres_schema_version(const std::string& url);

}  // namespace hearth::db::snapshot
