// The file `hearth backup` writes and `hearth restore` reads: a POSIX tar (ustar) archive, so
// that `tar tf` lists it and `tar xf` unpacks it without hearth. Only regular files:
//   database/hearth.db          SQLite: a consistent copy of the database (one file, no WAL)
//   database/postgresql.sql     PostgreSQL: pg_dump's plain SQL
//   home/<path>                 files under HEARTH_HOME (datasets/, jobs/, uploads/, manifests/,
//                               adapters in blobs/, secrets/ only with --include-key, ...)
//   hearth-backup.json          the manifest, always the last entry (cli/backup_manifest.h)
// Sizes past ustar's 8 GiB field use the base-256 form GNU tar reads.
//
// The archive is written under a temporary name beside the final one and renamed at the end, so
// a half-written backup never has the name of a complete one. A reader trusts nothing: every
// header's checksum, every path (relative, no "..", under database/ or home/) and every file's
// size and SHA-256 against the manifest are checked before anything is restored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace hearth::cli::archive {

inline constexpr std::string_view kManifestName = "hearth-backup.json";

struct Written {
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

class Writer {
 public:
  // Creates `path` (which must not exist), mode 0600.
  explicit Writer(const std::filesystem::path& path);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Adds the file as it is now (a file growing meanwhile is taken up to its size at the start).
  // False when it vanished before it could be opened (a temporary file renamed away meanwhile)
  // or is no regular file; Error(io) when it shrinks while being read.
  bool add_file(const std::string& name, const std::filesystem::path& source, Written& out);
  Written add_bytes(const std::string& name, std::string_view bytes, unsigned mode = 0600);
  // The end-of-archive blocks, then fsync. The file is complete only after this.
  void finish();

 private:
  void header(const std::string& name, std::uint64_t size, unsigned mode, std::int64_t mtime);
  void write(const void* data, std::size_t n);
  void pad(std::uint64_t size);
  std::filesystem::path path_;
  int fd_ = -1;
};

struct Entry {
  std::string name;
  std::uint64_t size = 0;
  unsigned mode = 0600;
};

// Reads every entry in order: on_entry(entry, read) is called with `read(chunk_fn)` that streams
// the entry's content (it must be called at most once; unread content is skipped). Error
// (corrupt_file) naming `path` for a bad header, a path outside the layout, a link or folder
// entry, or a file that ends early ("truncated").
using ChunkFn = std::function<void(std::string_view)>;
using ReadFn = std::function<void(const ChunkFn&)>;
void read_all(const std::filesystem::path& path,
              const std::function<void(const Entry&, const ReadFn&)>& on_entry);

}  // namespace hearth::cli::archive
