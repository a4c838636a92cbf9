// Blob stamps: the size and modification time a blob had when it was installed, so that a blob
// changed afterwards (truncated, appended to, rewritten in place) is refused at load without
// hashing gigabytes at every load. `hearth pull --verify NAME` does the full re-hash.
//
// A stamp is one file per blob, in a folder beside blobs/ (so that blobs/ holds only blobs and
// their partial downloads):
//   HEARTH_HOME/blob-stamps/sha256-<hex>     (UTF-8 JSON, written atomically)
//   { "schema": 1, "size": 2019377696, "mtime_ns": 1733500000123456789 }
// It is written when the blob is installed (right after its digest was computed from the bytes
// on disk: a download, an import) and when `hearth pull --verify` found the blob intact. A reader
// refuses a larger schema with Error(unsupported); an unreadable stamp is Error(corrupt_file).
// A blob installed by an older hearth has no stamp: the first check records one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace hearth::store {

inline constexpr int kBlobStampSchema = 1;

struct BlobStamp {
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // st_mtim in nanoseconds since the epoch
  bool operator==(const BlobStamp&) const = default;
};

// <blobs folder>/../blob-stamps/<blob's file name>.
std::filesystem::path blob_stamp_path(const std::filesystem::path& blob);
// The blob file's size and mtime now; Error(not_found / io).
BlobStamp stat_blob(const std::filesystem::path& blob);
// Records the blob's current size and mtime. Error(io).
void record_blob_stamp(const std::filesystem::path& blob);
// Records a stamp only when the blob has none.
void ensure_blob_stamp(const std::filesystem::path& blob);
// nullopt when the blob has no stamp.
std::optional<BlobStamp> read_blob_stamp(const std::filesystem::path& blob);
// Deletes the blob's stamp (with the blob); a missing one is fine.
void remove_blob_stamp(const std::filesystem::path& blob);

// Before a model is loaded. Error(corrupt_file) when the blob is gone, or its size or mtime
// differ from its stamp: "model 'NAME' changed on disk since it was installed (...); run
// `hearth pull --verify NAME` to check it, or remove it and pull it again". A blob without a
// stamp gets one (best effort: a store that cannot be written to is only logged). A file that is
// not a blob of a store (not named sha256-<64 hex>, e.g. a GGUF path given to `hearth run`) is
// not checked.
void check_blob_unchanged(const std::filesystem::path& blob, std::string_view model_name);

}  // namespace hearth::store
