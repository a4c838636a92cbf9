// `hearth backup OUT [--include-models] [--include-key] [--force]`: one file holding the database
// and the user data under HEARTH_HOME, taken while the server runs (cli/backup_archive.h for the
// file, cli/backup_manifest.h for its manifest, cli/restore.cpp for the way back).
//
// What goes in: the database (SQLite through its online backup API, PostgreSQL through pg_dump:
// per-user wrapped keys are rows, so they come along) and every file under HEARTH_HOME except
//   - the live database files (they are in the database copy),
//   - base model weights: blobs no adapter or fine-tune manifest names are public downloads;
//     their digests, sizes, names and sources are listed in the manifest (--include-models
//     keeps them),
//   - partial downloads and their locks beside the blobs, serve.lock, a restore's staging folder,
//   - secrets/ (the master key that unwraps every user's key) unless --include-key: a backup
//     that travels with its key opens for whoever holds the file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>

#include "cli/backup_archive.h"
#include "cli/backup_manifest.h"
#include "cli/commands.h"
#include "cli/home_lock.h"
#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"
#include "db/snapshot.h"
#include "store/store.h"

namespace hearth::cli {
namespace {
namespace fs = std::filesystem;

struct BackupOptions {
  std::string out;
  bool include_models = false;
  bool include_key = false;
  bool force = false;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

bool is_blob_name(const std::string& name) {
  if (name.size() != 7 + 64 || !name.starts_with("sha256-")) return false;
  return std::all_of(name.begin() + 7, name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Base model blobs: named only by manifests of plain models (no adapter, no lineage). Keyed by
// "sha256-<hex>" (the blob's file name).
std::map<std::string, backup::LeftOutModel> base_model_blobs(const fs::path& home) {
  store::Store store(home);
  std::map<std::string, backup::LeftOutModel> base;
  std::set<std::string> users_own;
  for (const auto& [space, m] : store.list_every_space()) {
    const std::string label = (space.empty() ? "" : "user " + space + ": ") + m.full_name();
    for (const auto& blob : m.blobs) {
      const std::string file = "sha256-" + blob.digest.substr(blob.digest.find(':') + 1);
      if (blob.media_type != "model" || !m.base_model.empty()) {
        users_own.insert(file);
        continue;
      }
      auto& entry = base[file];
      entry.digest = blob.digest;
      entry.size = blob.size;
      entry.names.push_back(label);
      if (entry.source.empty()) entry.source = m.source;
    }
  }
  for (const auto& file : users_own) base.erase(file);
  return base;
}

// A temporary file beside `final` that is removed unless released.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

void run_backup(const BackupOptions& o) {
  const fs::path home = fs::absolute(paths::home());
  const std::string url = config::get("HEARTH_DB");
  const db::Backend backend = db::snapshot::backend_of(url);
  const fs::path out = fs::absolute(o.out);
  std::error_code ec;
  if (fs::exists(out, ec) && !o.force)
    throw Error(ErrorKind::conflict, out.string() + " already exists: choose another name or pass --force");
  if (fs::is_directory(out, ec))
    throw Error(ErrorKind::invalid_input, out.string() + " is a folder: give the backup file's name");
  if (!fs::is_directory(out.parent_path(), ec))
    throw Error(ErrorKind::not_found, out.parent_path().string() + ": no such folder for the backup");

  const std::string stem = "." + out.filename().string() + ".partial-" + std::to_string(::getpid());
  TempFile partial{out.parent_path() / stem};
  TempFile db_copy{out.parent_path() / (stem + ".db")};
  archive::Writer writer(partial.path);
  backup::Manifest manifest;
  manifest.created_at = utc_now();
  manifest.hearth_version = HEARTH_VERSION;
  manifest.includes_key = o.include_key;
  manifest.includes_models = o.include_models;
  std::uint64_t total = 0;
  auto add = [&](const std::string& name, const fs::path& source) {
    archive::Written w;
    if (!writer.add_file(name, source, w)) return;
    manifest.files.push_back({name, w.size, w.sha256, static_cast<unsigned>(fs::status(source, ec).permissions()) & 0777u});
    total += w.size;
  };

  // The database first: its copy is the moment the backup stands for.
  std::set<fs::path> skip{out, partial.path, db_copy.path, home / HomeLock::kFileName};
  if (backend == db::Backend::sqlite) {
    const fs::path live = fs::absolute(db::snapshot::sqlite_file(url));
    db::snapshot::sqlite_copy(live, db_copy.path);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) skip.insert(live.string() + suffix);
    manifest.database_kind = "sqlite";
    manifest.database_file = "database/hearth.db";
    manifest.schema_version = db::snapshot::sqlite_schema_version(db_copy.path);
  } else {
    db::snapshot::postgres_dump(url, db_copy.path);
    manifest.database_kind = "postgresql";
    manifest.database_file = "database/postgresql.sql";
    manifest.schema_version = db::snapshot::postgres_schema_version(url);
  }
  add(manifest.database_file, db_copy.path);

  const auto base = o.include_models ? std::map<std::string, backup::LeftOutModel>{} : base_model_blobs(home);
  for (const auto& [file, model] : base) manifest.left_out_models.push_back(model);

  std::vector<fs::path> files;
  if (fs::is_directory(home, ec)) {
    for (auto it = fs::recursive_directory_iterator(home, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file(ec) && !it->is_symlink(ec)) files.push_back(it->path());
    }
    if (ec) throw Error(ErrorKind::io, home.string() + ": cannot list: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    if (skip.contains(file)) continue;
    const fs::path rel = file.lexically_relative(home);
    const std::string top = rel.begin()->string();
    const std::string name = rel.filename().string();
    if (top == "blobs") {
      if (rel.has_parent_path() && rel.parent_path() != "blobs") continue;
      if (!is_blob_name(name) || base.contains(name)) continue;  // partial downloads, locks, base weights
    }
    if (top == "blob-stamps" && base.contains(name)) continue;
    if (top.starts_with(".restore-")) continue;  // a restore's staging folder (restore.cpp)
    if (top == "secrets" && !o.include_key) {
      manifest.left_out_secrets.push_back(rel.generic_string());
      continue;
    }
    add("home/" + rel.generic_string(), file);
  }

  writer.add_bytes(std::string(archive::kManifestName), backup::to_json_text(manifest));
  writer.finish();
  if (::rename(partial.path.c_str(), out.c_str()) != 0)
    throw Error(ErrorKind::io, out.string() + ": cannot rename the finished backup into place");
  partial.path.clear();
  if (const int dir = ::open(out.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }

  std::printf("Backed up the %s database (schema %d) and %zu files of %s (%.1f MB) to %s\n",
              manifest.database_kind.c_str(),
              manifest.schema_version, manifest.files.size() - 1, home.string().c_str(),
              static_cast<double>(total) / 1e6, out.string().c_str());
  if (!manifest.left_out_models.empty()) {
    std::printf("Left out %zu base model file(s) (public weights; pull them again after a restore, "
                "or back up with --include-models):\n",
                manifest.left_out_models.size());
    for (const auto& m : manifest.left_out_models) {
      std::string names;
      for (const auto& n : m.names) names += (names.empty() ? "" : ", ") + n;
      std::printf("  %s  %s\n", m.digest.c_str(), names.c_str());
    }
  }
  if (o.include_key) {
    std::printf("The master key is inside: anyone with this file can read everything in it. "
                "Keep it as safe as the key itself.\n");
  } else {
    std::printf("The master key (HEARTH_HOME/secrets/) is NOT in this backup: keep a copy of it "
                "separately; a restore cannot decrypt the data without it (--include-key puts it in).\n");
  }
}

}  // namespace

constexpr const char* kBackupHelp = R"(hearth backup OUT [--include-models] [--include-key] [--force]
  Writes one tar file: the database (SQLite's online backup, or pg_dump for PostgreSQL; safe
  while the server runs), the user files under HEARTH_HOME (datasets/, jobs/, uploads/,
  adapters, manifests) and hearth-backup.json (version, time, database kind, every file's
  SHA-256). It is written under a temporary name and renamed when complete.
  Left out unless asked for:
    base model weights  public downloads, listed by name and digest to pull again
                        (--include-models keeps them)
    HEARTH_HOME/secrets/  the master key (--include-key). Without it, keep the key yourself:
                        the restored data cannot be decrypted without it.

hearth restore IN [--force]
  Into a stopped or new HEARTH_HOME (refused while `hearth serve` runs there; a home that is
  not empty needs --force) and the database HEARTH_DB names: a SQLite file, or an empty
  PostgreSQL database (createdb NAME). Every file is checked against its SHA-256 before
  anything is written; a truncated or damaged backup changes nothing. Files are written under
  temporary names and renamed into place. The key comes back when the backup holds it.
)";

void register_backup(CLI::App& app) {
  auto o = std::make_shared<BackupOptions>();
  auto* cmd = app.add_subcommand(
      "backup",
      "back up the database and the user data under HEARTH_HOME into one file (safe while the "
      "server runs); restore it with `hearth restore`");
  cmd->add_option("out", o->out, "the backup file to write, e.g. hearth-2026-12-07.tar")->required();
  cmd->add_flag("--include-models", o->include_models,
                "also keep base model weights (left out by default: they can be pulled again)");
  cmd->add_flag("--include-key", o->include_key,
                "also keep the master key (HEARTH_HOME/secrets/); without it the key must be kept "
                "separately to restore");
  cmd->add_flag("--force", o->force, "replace OUT when it exists");
  cmd->callback([o] { run_backup(*o); });

  // `hearth help backup` (the help command is registered before this one).
  for (CLI::App* help : app.get_subcommands([](CLI::App* c) { return c->get_name() == "help"; })) {
    help->add_subcommand("backup", "what `hearth backup` keeps and how `hearth restore` puts it back")
        ->callback([] { std::fputs(kBackupHelp, stdout); });
  }
}

}  // namespace hearth::cli
