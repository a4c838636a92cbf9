// hearth-backup.json, the last entry of a backup (cli/backup_archive.h). Version 1:
//   {
//     "format": "hearth-backup", "version": 1,
//     "created_at": "2026-12-07T06:00:00Z", "hearth_version": "0.9.0",
//     "database": { "kind": "sqlite" | "postgresql", "file": "database/hearth.db",
//                   "schema_version": 12 },
//     "files": [ { "path": "home/datasets/1/train.jsonl", "size": 123, "sha256": "<hex>",
//                  "mode": 384 }, ... ],          // every other entry, the database's included
//     "includes_key": false,                       // secrets/ (the master key) is inside
//     "includes_models": false,                    // base model weights are inside
//     "left_out": {
//       "models": [ { "digest": "sha256:<hex>", "size": 123, "names": ["space/name:tag"],
//                     "source": "https://..." } ],  // pull them again by name or source
//       "secrets": ["secrets/master.key"]           // keep these yourself; restore needs the key
//     }
//   }
// A reader refuses a larger version with Error(unsupported) and anything malformed with
// Error(corrupt_file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hearth::cli::backup {

inline constexpr int kManifestVersion = 1;

struct FileRecord {
  std::string path;  // inside the archive
  std::uint64_t size = 0;
  std::string sha256;
  unsigned mode = 0600;
};

struct LeftOutModel {
  std::string digest;
  std::uint64_t size = 0;
  std::vector<std::string> names;  // "name:tag", or "user <id>: name:tag" for a user's space
  std::string source;
};

struct Manifest {
  int version = kManifestVersion;
  std::string created_at;
  std::string hearth_version;
  std::string database_kind;  // "sqlite" | "postgresql"
  std::string database_file;  // the archive entry holding it
  int schema_version = 0;
  std::vector<FileRecord> files;
  bool includes_key = false;
  bool includes_models = false;
  std::vector<LeftOutModel> left_out_models;
  std::vector<std::string> left_out_secrets;  // paths relative to HEARTH_HOME
};

std::string to_json_text(const Manifest& m);
// `where` names the backup in error messages.
Manifest manifest_from_json_text(const std::string& text, const std::string& where);

}  // namespace hearth::cli::backup
