// Blobs sent over the API (Ollama's POST /api/blobs/:digest) and who sent them.
//
//   HEARTH_HOME/blobs/sha256-<hex>                      the blob, as every other (store.h)
//   HEARTH_HOME/blobs/upload-<pid>-<n>.tmp              while one streams in; removed if refused
//   HEARTH_HOME/blob-uploaders/sha256-<hex>/<user id>   empty file: that user sent these bytes
//
// The body is hashed as it is written; only when the whole body's SHA-256 equals the digest the
// client named is the file synced and renamed into place (a blob never appears half written or
// under a wrong name). Sending bytes a blob already holds keeps the blob and records the sender:
// they proved they have the content, so telling them it exists tells them nothing new.
//
// An uploaded blob that no manifest names stays until a model that used it is deleted (the
// store drops blobs no manifest names then, store.h); its uploader records stay, and matter only
// while the blob exists.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/sha256.h"
#include "store/store.h"

namespace hearth::store {

// "sha256:<64 lower-case hex>" for "sha256:<hex>" or "sha256-<hex>" (hex in either case);
// Error(invalid_input) naming `what` for anything else.
std::string normalize_digest(std::string_view digest, std::string_view what);

// Whether `user_id` sent the bytes of `digest` (and the blob is still in the store).
bool uploaded_by(const Store& store, std::string_view digest, std::int64_t user_id);

// One upload on its way into blobs/. Destroyed before finish() succeeded, it removes its file.
class BlobUpload {
 public:
  // `digest` normalised (normalize_digest). Error(io) when the file cannot be created.
  BlobUpload(const Store& store, std::string digest);
  ~BlobUpload();
  BlobUpload(const BlobUpload&) = delete;
  BlobUpload& operator=(const BlobUpload&) = delete;

  void write(std::string_view bytes);  // Error(io), "disk full" when it is
  // Checks the digest (Error(invalid_input) saying both digests when they differ: nothing is
  // kept), moves the file into place and records `user_id` as its sender. The blob's size.
  std::uint64_t finish(std::int64_t user_id);

 private:
  const Store& store_;
  std::string digest_;
  std::filesystem::path partial_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
  Sha256 sha_;
};

// Moves `file` (a finished file inside store.blobs_dir(), such as a quantizer's output) to its
// digest's name, or removes it when that blob is there already; the blob's reference.
BlobRef adopt_blob_file(const Store& store, const std::filesystem::path& file,
                        std::string media_type);

}  // namespace hearth::store
