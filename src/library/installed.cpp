// See installed.h.
#include "library/installed.h"


#include <optional>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "library/library_db.h"
#include "store/blob_stamp.h"
#include "store/download.h"

namespace hearth::library {

store::Store open_cli_store() { return store::Store(paths::home(), {}, cli_space()); }

std::string installed_models_hint(const store::Store& store) {
  std::string names;
  for (const auto& m : store.list()) names += (names.empty() ? "" : ", ") + m.full_name();
  if (names.empty()) return "no models installed; try hearth pull fast-assistant";
  return "installed models: " + names;
}

std::filesystem::path model_blob_path(const store::Store& store, const store::Manifest& manifest) {
  for (const auto& blob : manifest.blobs) {
    if (blob.media_type != "model") continue;
    auto path = store.blob_path(blob.digest);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(ErrorKind::corrupt_file, manifest.full_name() + ": its weights " + path.string() +
                                               " are missing; pull it again or hearth rm it");
    return path;
  }
  throw Error(ErrorKind::corrupt_file, manifest.full_name() + ": its manifest names no model file");
}

void record_use(const std::string& full_name) {
  try {
    LibraryDb library;
    if (auto row = library.find(full_name)) library.models().record_usage(row->id);
  } catch (const std::exception& e) {
    spdlog::warn("database: cannot count a use of {}: {}", full_name, e.what());
  }
}

Removal remove_installed(store::Store& store, const std::string& name) {
  Removal removal;
  if (auto m = store.find(name)) {
    removal.full_name = m->full_name();
    store.remove(removal.full_name);
  } else {
    // No manifest, but perhaps a row from a pull that never finished.
    removal.full_name = store::parse_model_name(name).full();
    bool had_row = false;
    try {
      LibraryDb library;
      had_row = library.remove(removal.full_name);
    } catch (const Error& e) {
      spdlog::warn("database: {}", e.what());
    }
    if (!had_row)
      throw Error(ErrorKind::not_found,
                  "model '" + name + "' is not installed; " + installed_models_hint(store));
    removal.unfinished = true;
    return removal;
  }
  try {
    LibraryDb library;
    library.remove(removal.full_name);
    library.audit("delete", removal.full_name);
  } catch (const Error& e) {
    spdlog::warn("database: cannot remove the record of {}: {}", removal.full_name, e.what());
  }
  clear_local_failure(removal.full_name);
  return removal;
}

Copied copy_installed(store::Store& store, const std::string& src, const std::string& dst) {
  auto from = store.find(src);
  if (!from)
    throw Error(ErrorKind::not_found,
                "model '" + src + "' is not installed; " + installed_models_hint(store));
  const std::string dst_full = store::parse_model_name(dst).full();
  store.copy(from->full_name(), dst_full);
  try {
    LibraryDb library;
    library.copy(from->full_name(), dst_full, model_blob_path(store, *from).string());
    library.audit("copy", dst_full, format_json(boost::json::object{{"source", from->full_name()}}));
  } catch (const Error& e) {
    spdlog::warn("database: cannot record the copy {}: {}", dst_full, e.what());
  }
  return {from->full_name(), dst_full};
}

std::vector<BlobVerdict> verify_blobs(const store::Store& store, const store::Manifest& manifest) {
  std::vector<BlobVerdict> verdicts;
  bool intact = true;
  for (const auto& blob : manifest.blobs) {
    BlobVerdict v;
    v.digest = blob.digest;
    const auto path = store.blob_path(blob.digest);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      v.state = BlobVerdict::State::missing;
    } else {
      const std::string actual = sha256_file_hex(path);
      if (actual != store::digest_hex(blob.digest)) {
        v.state = BlobVerdict::State::corrupt;
        v.actual_hex = actual;
      }
    }
    intact = intact && v.state == BlobVerdict::State::ok;
    verdicts.push_back(std::move(v));
  }
  if (intact)
    for (const auto& blob : manifest.blobs) store::record_blob_stamp(store.blob_path(blob.digest));
  return verdicts;
}

}  // namespace hearth::library
