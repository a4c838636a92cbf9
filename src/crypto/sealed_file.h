// Sealed files: a user's datasets, uploads, adapters and checkpoints as they lie on disk.
//
//   SealedWriter out(path, key);       // writes ".<name>.partial-<pid>-<n>" beside it
//   out.write(bytes); ...; out.commit();  // fsync, then renamed to path: all or nothing
//   std::string back = read_file(path);   // sealed or plain, the contents
//
// Layout: "HEARTHS1" (8 bytes), the data key's id (16), libsodium secretstream's header (24), then
// chunks — a 4-byte little-endian length and that many bytes of secretstream output (at most
// 64 KiB of plaintext each) — the last one tagged FINAL. A file cut short, with a chunk changed,
// reordered or dropped, or opened with another key is Error(corrupt_file) saying so. Plain files
// (no magic: base model weights, files a user gave by path) read as they are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "crypto/keyring.h"

namespace hearth::crypto {

inline constexpr std::string_view file_magic = "HEARTHS1";

// True when the file starts with the magic (false for a missing or short file).
bool is_sealed_file(const std::filesystem::path& path);

class SealedWriter {
 public:
  SealedWriter(const std::filesystem::path& path, const DataKey& key);
  ~SealedWriter();  // an uncommitted file is removed
  SealedWriter(const SealedWriter&) = delete;
  SealedWriter& operator=(const SealedWriter&) = delete;
  void write(std::string_view bytes);
  // Seals the last chunk, flushes to disk and renames into place. Error(io) on a full disk etc.:
  // the previous file at `path`, if any, is left as it was.
  void commit();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Reads a file in order, opening it when sealed: plain files pass through.
class FileReader {
 public:
  explicit FileReader(const std::filesystem::path& path);  // Error(not_found / io / corrupt_file)
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  bool sealed() const;
  // Up to `size` bytes; 0 at the end. A sealed file's end is checked (the FINAL tag).
  std::size_t read(char* out, std::size_t size);
  std::string read_all();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string read_file(const std::filesystem::path& path);
// Whole contents, sealed under `key`, written atomically.
void write_sealed_file(const std::filesystem::path& path, std::string_view contents,
                       const DataKey& key);
// Seals a plain file in place (atomically); a sealed one is left alone. Returns whether it sealed.
bool seal_file_in_place(const std::filesystem::path& path, const DataKey& key);
// A plain copy of a file (sealed or not) at `to`, written atomically: what exports hand out.
void write_plain_copy(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace hearth::crypto
