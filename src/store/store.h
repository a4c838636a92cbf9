// store: the models installed on this machine (DESIGN.md §2, §3).
//
// Content-addressed blobs plus manifests that give them names:
//   HEARTH_HOME/blobs/sha256-<hex>           model weights and adapters, named by their SHA-256
//   HEARTH_HOME/blob-stamps/sha256-<hex>     each blob's size and mtime at install (blob_stamp.h)
//   HEARTH_HOME/manifests/<name>/<tag>       what `name:tag` points to for the machine's owner
//   HEARTH_HOME/users/<id>/manifests/<name>/<tag>   the same for the server's user <id>
// Names belong to one user: each user has a space of manifests of their own (the owner's, the
// implicit local user of the server and the CLI's default, is the plain manifests/ folder), so
// nobody can replace, delete or even see another user's name. Blobs are shared by every space
// and removed only when no manifest of any space names them.
// Partial downloads live beside the blobs (see store/download.h for their files) and are never
// listed: a blob appears under its digest name only after its digest was verified, and a
// manifest is written only after every blob it names is in place. So `list()` never shows a
// half-installed model, whatever happens (kill -9, full disk, Ctrl-C).
//
// Names: `name[:tag]`. A name is one or more segments of letters, digits, '.', '_' and '-'
// joined by '/' (each segment starts with a letter or digit); a tag is one such segment. A
// missing tag means "latest" for writing; for lookups it means "latest", or the only tag
// installed under that name. Error(invalid_input) for anything else.
//
// Manifest file, version 1 (UTF-8 JSON, written atomically: temp file + fsync + rename):
//   {
//     "schema": 1,
//     "name": "fast-assistant", "tag": "q4_k_m",
//     "blobs": [ {"digest": "sha256:<64 hex>", "size": 2019377696, "media_type": "model"} ],
//     "parameters": { "temperature": 0.7, "stop": ["<|eot_id|>"] },   // api/options.h
//     "template": "",                 // chat template override; empty: the model's own
//     "system": "...",                // optional: default system prompt (POST /api/create)
//     "license": "...",               // optional: license text (POST /api/create)
//     "source": "https://huggingface.co/...gguf" | "/home/me/model.gguf",
//     "lineage": { "base_model": "" },  // for fine-tunes: the name:tag it was trained from
//     "created_at": "2025-06-01T12:00:00Z"
//   }
// media_type is "model" (GGUF weights) or "adapter" (a LoRA adapter in GGUF, applied over the
// weights whenever the name is used: a model made by POST /api/create with "adapters"). A reader refuses a
// larger "schema" with Error(unsupported) and a malformed file with Error(corrupt_file).
//
// Thread safety: a Store is safe to use from several threads; separate processes may share one
// HEARTH_HOME (downloads of one blob are serialised by a lock file). `remove` racing a pull that
// writes a manifest naming the same blob is not guarded against.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "api/options.h"
#include "store/download.h"
#include "store/progress.h"

namespace hearth::store {

inline constexpr int kManifestSchema = 1;

struct ModelName {
  std::string name;  // "fast-assistant", "me/my-model"
  std::string tag;   // "q4_k_m"; empty when the reference gave none
  std::string full() const { return name + ":" + (tag.empty() ? "latest" : tag); }
};
// Error(invalid_input) naming the reference when it breaks the rules above.
ModelName parse_model_name(std::string_view ref);

struct BlobRef {
  std::string digest;                // "sha256:<64 lower-case hex>"
  uint64_t size = 0;                 // bytes
  std::string media_type = "model";  // "model" | "adapter"
};

struct Manifest {
  std::string name;
  std::string tag;
  std::vector<BlobRef> blobs;
  api::Options parameters;  // default options of requests (api/options.h)
  std::string template_text;
  std::string system;   // the default system prompt of requests that bring none
  std::string license;  // license text given at creation (Ollama's LICENSE)
  std::string source;
  std::string base_model;  // lineage; empty for models not trained here
  std::string created_at;  // ISO 8601 UTC; filled by Store::write when empty

  std::string full_name() const { return name + ":" + tag; }
  uint64_t total_size() const;
};

boost::json::object manifest_to_json(const Manifest& manifest);
// `where` names the file in error messages.
Manifest manifest_from_json(const boost::json::value& json, const std::string& where);

// What to pull: one GGUF file by URL, installed under a name.
struct PullRequest {
  std::string url;
  std::string name;             // name[:tag]
  std::string expected_digest;  // "sha256:<hex>" or "<hex>"; empty when not known
  std::string media_type = "model";
  api::Options parameters;  // default options of requests (api/options.h)
  std::string template_text;
  std::string base_model;
};

// One manifest of some user's space (Store::list_every_space).
struct SpacedManifest {
  std::string space;  // "" for the owner's, else the user id as text
  Manifest manifest;
};

class Store {
 public:
  // The owner's names in the store under `home` (blobs/ and manifests/ below it); folders are
  // made when first needed. `space` non-empty: that user's names instead (see above); it must
  // be a decimal user id.
  explicit Store(std::filesystem::path home, DownloadOptions download_options = {},
                 std::string space = {});
  // The store under paths::home().
  static Store open_default(DownloadOptions download_options = {});
  // The same blobs seen through another space's names ("" for the owner's).
  std::unique_ptr<Store> in_space(const std::string& space) const;
  const std::string& space() const { return space_; }
  const std::filesystem::path& home() const { return home_; }
  // Every space's manifests, the owner's first, then by user id; unreadable ones are skipped
  // with a warning. `complete` (optional) is set false when some manifest could not be read.
  std::vector<SpacedManifest> list_every_space(bool* complete = nullptr) const;
  // Deletes the blob when no manifest of any space names it (and every manifest could be read).
  void drop_blob_if_unused(std::string_view digest) const;

  const std::filesystem::path& blobs_dir() const { return blobs_; }
  const std::filesystem::path& manifests_dir() const { return manifests_; }
  // blobs/sha256-<hex> for "sha256:<hex>" or "<hex>"; Error(invalid_input) for another form.
  std::filesystem::path blob_path(std::string_view digest) const;

  // Every installed model, sorted by name:tag. A manifest that cannot be read is skipped with a
  // warning in the log (find() names its error).
  // `complete` (optional) is set false when some manifest could not be read or listed.
  std::vector<Manifest> list(bool* complete = nullptr) const;
  // nullopt when not installed; Error(corrupt_file / unsupported) when its manifest is bad.
  std::optional<Manifest> find(std::string_view ref) const;
  // Writes the manifest atomically, replacing one of the same name:tag. Error(not_found) when a
  // blob it names is not in the store. A blob without a stamp (blob_stamp.h) gets one.
  void write(Manifest manifest);
  // Deletes the manifest, then every blob no remaining manifest uses. Error(not_found).
  void remove(std::string_view ref);
  // Installs `src`'s manifest under another name (blobs are shared). Error(not_found) for src,
  // Error(conflict) when dst exists.
  void copy(std::string_view src, std::string_view dst);

  // Adds an existing GGUF file: copied into blobs/ (a reflink where the file system offers one,
  // never a hard link, so later changes to the file cannot reach the blob); its digest is
  // computed from the copy and its stamp recorded (blob_stamp.h); the source file is never
  // modified. Error(not_found / io), Error(invalid_input) when it is not a GGUF file.
  Manifest import_file(const std::filesystem::path& file, std::string_view ref);

  // Downloads (or resumes) the file, verifies it and writes the manifest. nullopt when cancelled
  // (the partial download stays and the next pull resumes it). Errors as Downloader::fetch.
  std::optional<Manifest> pull(const PullRequest& request, const ProgressCallback& progress = {},
                               const CancelToken* cancel = nullptr);

 private:
  std::filesystem::path manifest_path(const ModelName& name) const;
  std::optional<ModelName> resolve(const ModelName& name) const;

  std::filesystem::path home_;
  std::string space_;
  std::filesystem::path blobs_;
  std::filesystem::path manifests_;
  Downloader downloader_;
  // Serialises manifest writes, removals and blob deletions within this process, across every
  // user's space (in_space views share it).
  std::shared_ptr<std::recursive_mutex> names_mutex_ = std::make_shared<std::recursive_mutex>();
};

}  // namespace hearth::store
