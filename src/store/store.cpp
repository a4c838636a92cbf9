// Store: manifests (list, find, write, remove, copy) and pull. Import is in import.cpp.
#include "store/store.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "core/error.h"
#include "core/paths.h"
#include "store/blob_stamp.h"
#include "store/file_util.h"

namespace hearth::store {
namespace {

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

bool is_manifest_file(const std::filesystem::directory_entry& entry) {
  std::string file = entry.path().filename().string();
  return entry.is_regular_file() && file.find(".tmp-") == std::string::npos && file[0] != '.';
}

Manifest read_manifest(const std::filesystem::path& path, const ModelName& name) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_small_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::corrupt_file, path.string() + ": manifest is not JSON: " + e.what());
  }
  Manifest m = manifest_from_json(json, path.string());
  m.name = name.name;  // the path is what names it
  m.tag = name.tag;
  return m;
}

}  // namespace

Store::Store(std::filesystem::path home, DownloadOptions download_options)
    : home_(std::move(home)),
      blobs_(home_ / "blobs"),
      manifests_(home_ / "manifests"),
      downloader_(blobs_, std::move(download_options)) {}

Store Store::open_default(DownloadOptions download_options) {
  return Store(paths::home(), std::move(download_options));
}

std::filesystem::path Store::blob_path(std::string_view digest) const {
  return blobs_ / ("sha256-" + digest_hex(digest));
}

std::filesystem::path Store::manifest_path(const ModelName& name) const {
  return manifests_ / name.name / (name.tag.empty() ? "latest" : name.tag);
}

std::optional<ModelName> Store::resolve(const ModelName& name) const {
  std::error_code ec;
  if (!name.tag.empty())
    return std::filesystem::is_regular_file(manifest_path(name), ec) ? std::optional(name)
                                                                     : std::nullopt;
  ModelName latest{name.name, "latest"};
  if (std::filesystem::is_regular_file(manifest_path(latest), ec)) return latest;
  std::vector<std::string> tags;
  for (const auto& entry : std::filesystem::directory_iterator(manifests_ / name.name, ec))
    if (is_manifest_file(entry)) tags.push_back(entry.path().filename().string());
  if (tags.size() == 1) return ModelName{name.name, tags[0]};
  return std::nullopt;
}

std::vector<Manifest> Store::list() const {
  std::vector<Manifest> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(manifests_, ec)) return out;
  for (auto it = std::filesystem::recursive_directory_iterator(manifests_, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!is_manifest_file(*it)) continue;
    auto relative = it->path().lexically_relative(manifests_);
    ModelName name{relative.parent_path().generic_string(), relative.filename().string()};
    try {
      out.push_back(read_manifest(it->path(), name));
    } catch (const Error& e) {
      spdlog::warn("skipping a model: {}", e.what());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Manifest& a, const Manifest& b) { return a.full_name() < b.full_name(); });
  return out;
}

std::optional<Manifest> Store::find(std::string_view ref) const {
  auto name = resolve(parse_model_name(ref));
  if (!name) return std::nullopt;
  return read_manifest(manifest_path(*name), *name);
}

void Store::write(Manifest m) {
  if (m.tag.empty()) m.tag = "latest";
  ModelName name = parse_model_name(m.name + ":" + m.tag);
  for (const auto& blob : m.blobs) {
    std::error_code ec;
    auto path = blob_path(blob.digest);
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(ErrorKind::not_found, m.full_name() + ": blob " + blob.digest +
                                            " is not in the store (" + path.string() + ")");
    ensure_blob_stamp(path);  // installs record one; a blob from an older hearth gets it here
  }
  if (m.created_at.empty()) m.created_at = utc_now();
  std::lock_guard lock(mutex_);
  auto path = manifest_path(name);
  paths::ensure_directory(path.parent_path());
  write_file_atomically(path, manifest_to_json(m).dump(2) + "\n");
}

void Store::remove(std::string_view ref) {
  std::lock_guard lock(mutex_);
  auto name = resolve(parse_model_name(ref));
  if (!name) throw Error(ErrorKind::not_found, "model '" + std::string(ref) + "' is not installed");
  auto path = manifest_path(*name);
  Manifest removed = read_manifest(path, *name);
  if (::unlink(path.c_str()) != 0)
    throw Error(ErrorKind::io, path.string() + ": cannot delete: " + errno_text(errno));
  sync_directory(path.parent_path());
  for (auto dir = path.parent_path(); dir != manifests_ && dir.has_parent_path();
       dir = dir.parent_path())
    if (::rmdir(dir.c_str()) != 0) break;  // stops at the first folder that is not empty

  // A blob is deleted only when every remaining manifest could be read and none names it.
  std::vector<Manifest> remaining = list();
  size_t files = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(manifests_, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (!ec && is_manifest_file(*it)) ++files;
  std::set<std::string> used;
  for (const auto& m : remaining)
    for (const auto& b : m.blobs) used.insert(digest_hex(b.digest));
  if (remaining.size() != files) {
    spdlog::warn("not deleting blobs of {}: some manifests cannot be read", name->full());
    return;
  }
  for (const auto& b : removed.blobs)
    if (!used.contains(digest_hex(b.digest))) {
      std::filesystem::remove(blob_path(b.digest), ec);
      remove_blob_stamp(blob_path(b.digest));
    }
}

void Store::copy(std::string_view src, std::string_view dst) {
  auto source = find(src);
  if (!source)
    throw Error(ErrorKind::not_found, "model '" + std::string(src) + "' is not installed");
  ModelName target = parse_model_name(dst);
  if (target.tag.empty()) target.tag = "latest";
  std::error_code ec;
  if (std::filesystem::exists(manifest_path(target), ec))
    throw Error(ErrorKind::conflict,
                "model '" + target.full() + "' already exists; remove it first");
  Manifest m = *source;
  m.name = target.name;
  m.tag = target.tag;
  m.created_at.clear();
  write(std::move(m));
}

std::optional<Manifest> Store::pull(const PullRequest& request, const ProgressCallback& progress,
                                    const CancelToken* cancel) {
  ModelName name = parse_model_name(request.name);  // a bad name fails before any download
  if (request.media_type != "model" && request.media_type != "adapter")
    throw Error(ErrorKind::invalid_input, "media type must be model or adapter");
  DownloadResult download =
      downloader_.fetch({request.url, request.expected_digest}, progress, cancel);
  if (download.cancelled) return std::nullopt;
  Manifest m;
  m.name = name.name;
  m.tag = name.tag.empty() ? "latest" : name.tag;
  m.blobs.push_back({download.digest, download.size, request.media_type});
  m.parameters = request.parameters;
  m.template_text = request.template_text;
  m.source = request.url;
  m.base_model = request.base_model;
  write(m);
  return find(m.full_name());
}

}  // namespace hearth::store
