// `hearth restore IN [--force]`: puts a `hearth backup` file back into a stopped or new
// HEARTH_HOME and the database HEARTH_DB names.
//
// Order, so that a bad backup changes nothing and a crash leaves no half-restored file:
//   1. take HEARTH_HOME's serve lock exclusively (cli/home_lock.h): refused while a server runs;
//   2. read the whole backup once and check every header, path, size and SHA-256 against its
//      manifest (a truncated or damaged file is refused here, before anything is written);
//   3. check the target: an empty HEARTH_HOME (or --force), a SQLite database nobody has open, an
//      empty PostgreSQL database;
//   4. unpack into a staging folder inside HEARTH_HOME, checking every SHA-256 again as written;
//   5. the database: SQLite's file checked with its integrity check and renamed into place;
//      PostgreSQL's dump loaded by psql in one transaction;
//   6. every file renamed from staging into place (rename is atomic within one file system).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cli/backup_archive.h"
#include "cli/backup_manifest.h"
#include "cli/commands.h"
#include "cli/home_lock.h"
#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "db/snapshot.h"

namespace hearth::cli {
namespace {
namespace fs = std::filesystem;

struct RestoreOptions {
  std::string in;
  bool force = false;
};

struct Seen {
  std::uint64_t size = 0;
  std::string sha256;
};

// Step 2: reads everything, returns the manifest once every file matches it.
backup::Manifest verify(const fs::path& in) {
  std::map<std::string, Seen> seen;
  std::string manifest_text;
  archive::read_all(in, [&](const archive::Entry& e, const archive::ReadFn& read) {
    if (e.name == archive::kManifestName) {
      if (e.size > (64u << 20)) throw Error(ErrorKind::corrupt_file, in.string() + ": its manifest is implausibly large");
      read([&](std::string_view chunk) { manifest_text.append(chunk); });
      return;
    }
    if (seen.contains(e.name))
      throw Error(ErrorKind::corrupt_file, in.string() + ": '" + e.name + "' appears twice");
    Sha256 hash;
    read([&](std::string_view chunk) { hash.update(chunk); });
    seen[e.name] = {e.size, hash.finish_hex()};
  });
  backup::Manifest m = backup::manifest_from_json_text(manifest_text, in.string());
  const std::string damaged = in.string() + ": the backup is damaged: ";
  std::size_t listed = 0;
  for (const auto& f : m.files) {
    // Only the database and files under home/; never the lock a restore itself holds.
    if (f.path != m.database_file && (!f.path.starts_with("home/") || f.path == "home/" + std::string(HomeLock::kFileName)))
      throw Error(ErrorKind::corrupt_file, damaged + "it lists an unexpected file '" + f.path + "'");
    auto it = seen.find(f.path);
    if (it == seen.end()) throw Error(ErrorKind::corrupt_file, damaged + "'" + f.path + "' is missing");
    if (it->second.size != f.size || it->second.sha256 != f.sha256)
      throw Error(ErrorKind::corrupt_file, damaged + "'" + f.path + "' does not match its SHA-256 in the manifest");
    ++listed;
  }
  if (listed != seen.size())
    throw Error(ErrorKind::corrupt_file, damaged + "it holds files its manifest does not list");
  if (!seen.contains(m.database_file) || !m.database_file.starts_with("database/"))
    throw Error(ErrorKind::corrupt_file, damaged + "its database (" + m.database_file + ") is missing");
  return m;
}

// Step 4's writer: a new file, its SHA-256 checked before it counts.
void write_checked(const fs::path& dest, const archive::Entry& e, const archive::ReadFn& read,
                   const std::string& expected_sha256) {
  paths::ensure_directory(dest.parent_path());
  const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, e.mode & 0700 ? e.mode & 0777 : 0600);
  if (fd < 0) throw Error(ErrorKind::io, dest.string() + ": cannot create: " + std::strerror(errno));
  Sha256 hash;
  bool failed = false;
  read([&](std::string_view chunk) {
    hash.update(chunk);
    for (std::size_t done = 0; !failed && done < chunk.size();) {
      const ssize_t w = ::write(fd, chunk.data() + done, chunk.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) failed = true;
      else done += static_cast<std::size_t>(w);
    }
  });
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (failed || !synced) throw Error(ErrorKind::io, dest.string() + ": cannot write (is the disk full?)");
  if (hash.finish_hex() != expected_sha256)
    throw Error(ErrorKind::corrupt_file, dest.string() + ": the backup changed while being restored");
}

// Whether HEARTH_HOME holds anything but the serve lock.
bool home_has_files(const fs::path& home) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(home, ec))
    if (entry.path().filename() != HomeLock::kFileName) return true;
  return false;
}

struct Staging {
  fs::path dir;
  fs::path db_file;  // the SQLite file staged beside the live one
  ~Staging() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
    if (!db_file.empty()) fs::remove(db_file, ec);
  }
};

void run_restore(const RestoreOptions& o) {
  const fs::path home = fs::absolute(paths::home());
  const std::string url = config::get("HEARTH_DB");
  const db::Backend backend = db::snapshot::backend_of(url);
  const fs::path in = fs::absolute(o.in);
  const HomeLock lock(home, HomeLock::Mode::restoring);  // 1

  const backup::Manifest m = verify(in);  // 2
  std::printf("Checked %s: %zu files, %s database (schema %d) from %s, hearth %s\n", in.string().c_str(),
              m.files.size(), m.database_kind.c_str(), m.schema_version, m.created_at.c_str(),
              m.hearth_version.c_str());

  // 3
  const std::string target_kind(db::backend_name(backend));
  if (m.database_kind != target_kind)
    throw Error(ErrorKind::unsupported,
                "this backup holds a " + m.database_kind + " database but HEARTH_DB names a " +
                    target_kind + " one: restore it with HEARTH_DB set to a " + m.database_kind + " database");
  if (home_has_files(home) && !o.force)
    throw Error(ErrorKind::conflict, home.string() +
                                         " is not empty: restore into a new HEARTH_HOME, or pass --force to "
                                         "replace the files the backup holds (others stay)");
  fs::path live_db;
  std::error_code ec;
  if (backend == db::Backend::sqlite) {
    live_db = fs::absolute(db::snapshot::sqlite_file(url));
    if (db::snapshot::sqlite_in_use(live_db))
      throw Error(ErrorKind::conflict, live_db.string() +
                                           " is open in another hearth process: stop it before restoring");
    if (fs::exists(live_db, ec) && !o.force)
      throw Error(ErrorKind::conflict, live_db.string() + " exists: pass --force to replace it");
  } else if (const long long tables = db::snapshot::postgres_table_count(url); tables > 0) {
    throw Error(ErrorKind::conflict, "the PostgreSQL database HEARTH_DB names holds " + std::to_string(tables) +
                                         " tables: restore into a new, empty database (createdb NAME)");
  }

  // 4
  Staging staging;
  staging.dir = home / (".restore-" + std::to_string(::getpid()));
  fs::remove_all(staging.dir, ec);
  paths::ensure_directory(staging.dir);
  if (backend == db::Backend::sqlite)
    staging.db_file = live_db.parent_path() / ("." + live_db.filename().string() + ".restore-" + std::to_string(::getpid()));
  std::map<std::string, const backup::FileRecord*> records;
  for (const auto& f : m.files) records[f.path] = &f;
  archive::read_all(in, [&](const archive::Entry& e, const archive::ReadFn& read) {
    if (e.name == archive::kManifestName) return;
    auto it = records.find(e.name);
    if (it == records.end())
      throw Error(ErrorKind::corrupt_file, in.string() + ": the backup changed while being restored");
    fs::path dest;
    if (e.name == m.database_file)
      dest = backend == db::Backend::sqlite ? staging.db_file : staging.dir / "database.sql";
    else
      dest = staging.dir / "home" / e.name.substr(5);
    if (fs::exists(dest, ec)) fs::remove(dest, ec);
    write_checked(dest, e, read, it->second->sha256);
  });

  // 5
  if (backend == db::Backend::sqlite) {
    if (const std::string check = db::snapshot::sqlite_integrity(staging.db_file); check != "ok")
      throw Error(ErrorKind::corrupt_file, in.string() + ": its database fails SQLite's integrity check: " + check);
    // A WAL left by the old database would be replayed into the new one.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(live_db.string() + suffix, ec);
    if (::rename(staging.db_file.c_str(), live_db.c_str()) != 0)
      throw Error(ErrorKind::io, live_db.string() + ": cannot move the restored database into place: " +
                                     std::strerror(errno));
    staging.db_file.clear();
  } else {
    db::snapshot::postgres_load(url, staging.dir / "database.sql");
  }

  // 6
  std::size_t placed = 0;
  const fs::path staged_home = staging.dir / "home";
  if (fs::is_directory(staged_home, ec)) {
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(staged_home, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      if (it->is_regular_file(ec)) files.push_back(it->path());
    for (const fs::path& staged : files) {
      const fs::path dest = home / staged.lexically_relative(staged_home);
      paths::ensure_directory(dest.parent_path());
      if (::rename(staged.c_str(), dest.c_str()) != 0)
        throw Error(ErrorKind::io, dest.string() + ": cannot move the restored file into place: " +
                                       std::strerror(errno));
      ++placed;
    }
  }

  std::printf("Restored the %s database and %zu files into %s\n", m.database_kind.c_str(), placed,
              home.string().c_str());
  if (m.includes_key) {
    std::printf("The master key came with the backup (HEARTH_HOME/secrets/).\n");
  } else if (!m.left_out_secrets.empty()) {
    std::printf("The backup holds no key: put these back from where you keep them before starting the server:\n");
    for (const auto& s : m.left_out_secrets) std::printf("  %s\n", (home / s).string().c_str());
  }
  if (!m.left_out_models.empty()) {
    std::printf("Base model files were left out of the backup; pull them again:\n");
    for (const auto& lo : m.left_out_models) {
      const std::string name = lo.names.empty() ? lo.digest : lo.names.front();
      std::printf("  %s  (%s%s)\n", name.c_str(), lo.digest.c_str(),
                  lo.source.empty() ? "" : (", from " + lo.source).c_str());
    }
  }
}

}  // namespace

void register_restore(CLI::App& app) {
  auto o = std::make_shared<RestoreOptions>();
  auto* cmd = app.add_subcommand(
      "restore",
      "restore a `hearth backup` file into a stopped or new HEARTH_HOME (and the empty database "
      "HEARTH_DB names); every file is checked before anything is written");
  cmd->add_option("in", o->in, "the backup file")->required();
  cmd->add_flag("--force", o->force,
                "restore into a HEARTH_HOME that is not empty (files the backup holds are replaced)");
  cmd->callback([o] { run_restore(*o); });
}

}  // namespace hearth::cli
