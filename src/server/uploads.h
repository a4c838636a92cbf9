// Files sent to POST /v1/files (OpenAI's Files API): their public ids, where they are kept, and
// the writer that streams one to disk.
//
//   HEARTH_HOME/uploads/<user id>/upload-<32 hex>        a kept upload, sealed (its row's path)
//   HEARTH_HOME/uploads/<user id>/upload-<32 hex>.part   while it streams in; removed if refused
//
// The name is random rather than the row's id because the row is written last, once the file is
// whole, synced and checked: a row always has its file, and a crash leaves at most a stray file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/sha256.h"
#include "crypto/sealed_file.h"
#include "db/db.h"

namespace hearth::server {

// "file-12" for row 12.
std::string file_public_id(std::int64_t id);
// 12 for "file-12"; nullopt for anything else ("file-", "file-012", "file-1x", "12", ...).
std::optional<std::int64_t> parse_file_id(std::string_view public_id);
// HEARTH_HOME/uploads/<user id>.
std::filesystem::path uploads_folder(std::int64_t user_id);

// The kept file of one of the user's uploads, by its public id ("file-12"), for the routes that
// take one (a fine-tuning job's training_file). Error(not_found) naming the id for a malformed
// id, another user's file, a deleted one, or one whose file is gone from disk.
std::filesystem::path uploaded_file_path(const db::Database& db, std::int64_t user_id,
                                         std::string_view public_id);

// One upload on its way to disk: a ".part" file, its SHA-256 computed while writing, then
// synced and renamed to its kept name. Destroyed before keep(), it removes its file.
class UploadFile {
 public:
  // Sealed with the user's data key as it streams in (crypto/sealed_file.h): the upload never lies
  // on disk in plaintext. Error(io) when the file cannot be created.
  UploadFile(std::int64_t user_id, const crypto::DataKey& key);
  ~UploadFile();
  UploadFile(const UploadFile&) = delete;
  UploadFile& operator=(const UploadFile&) = delete;

  void write(std::string_view bytes);  // Error(io) ("disk full" when it is)
  // Syncs and closes the file; the hex digest of everything written.
  std::string sync();
  // The file as written (after sync(): sealed; crypto::read_file opens it), to check before keeping.
  const std::filesystem::path& partial_path() const { return partial_; }
  std::uint64_t bytes() const { return bytes_; }
  // Renames it to its kept name (after sync()) and syncs the folder: the kept path. The file
  // is the caller's from then on.
  std::filesystem::path keep();

 private:
  std::filesystem::path kept_;
  std::filesystem::path partial_;
  std::unique_ptr<crypto::SealedWriter> writer_;  // null once synced
  bool kept_done_ = false;
  std::uint64_t bytes_ = 0;
  Sha256 sha_;
};

}  // namespace hearth::server
