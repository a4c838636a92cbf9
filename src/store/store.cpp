// Store: manifests (list, find, write, remove, copy) and pull. Import is in import.cpp.
#include "store/store.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "core/error.h"
#include "core/json_text.h"
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
  std::string error;
  const auto json = parse_json(read_small_file(path), &error);
  if (!json) throw Error(ErrorKind::corrupt_file, path.string() + ": manifest is not JSON: " + error);
  Manifest m = manifest_from_json(*json, path.string());
  m.name = name.name;  // the path is what names it
  m.tag = name.tag;
  return m;
}

}  // namespace

namespace {

std::filesystem::path space_manifests(const std::filesystem::path& home, const std::string& space) {
  if (space.empty()) return home / "manifests";
  const bool digits = std::all_of(space.begin(), space.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) throw Error(ErrorKind::invalid_input, "a user's space must be a user id, not '" + space + "'");
  return home / "users" / space / "manifests";
}

// Every manifest file under one space's folder, read (unreadable ones counted, not returned).
std::vector<Manifest> read_space(const std::filesystem::path& dir, size_t* unreadable) {
  std::vector<Manifest> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    if (ec && ec != std::errc::no_such_file_or_directory) ++*unreadable;
    return out;
  }
  auto start = std::filesystem::recursive_directory_iterator(dir, ec);
  if (ec) ++*unreadable;  // could not be listed: not "nothing there"
  for (auto it = std::move(start);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      ++*unreadable;
      break;
    }
    if (!is_manifest_file(*it)) continue;
    auto relative = it->path().lexically_relative(dir);
    ModelName name{relative.parent_path().generic_string(), relative.filename().string()};
    try {
      out.push_back(read_manifest(it->path(), name));
    } catch (const Error& e) {
      spdlog::warn("skipping a model: {}", e.what());
      ++*unreadable;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Manifest& a, const Manifest& b) { return a.full_name() < b.full_name(); });
  return out;
}

}  // namespace

Store::Store(std::filesystem::path home, DownloadOptions download_options, std::string space)
    : home_(std::move(home)),
      space_(std::move(space)),
      blobs_(home_ / "blobs"),
      manifests_(space_manifests(home_, space_)),
      downloader_(blobs_, std::move(download_options)) {}

Store Store::open_default(DownloadOptions download_options) {
  return Store(paths::home(), std::move(download_options));
}

std::unique_ptr<Store> Store::in_space(const std::string& space) const {
  auto view = std::make_unique<Store>(home_, downloader_.options(), space);
  view->names_mutex_ = names_mutex_;  // one lock for every space: they share the blobs
  return view;
}

std::vector<SpacedManifest> Store::list_every_space(bool* complete) const {
  size_t unreadable = 0;
  std::vector<SpacedManifest> out;
  for (auto& m : read_space(space_manifests(home_, ""), &unreadable)) out.push_back({"", std::move(m)});
  std::vector<std::pair<long long, std::string>> users;
  std::error_code ec;
  auto users_dir = std::filesystem::directory_iterator(home_ / "users", ec);
  if (ec && ec != std::errc::no_such_file_or_directory) ++unreadable;
  for (const auto& entry : users_dir) {
    const std::string id = entry.path().filename().string();
    if (!id.empty() && id.size() < 19 &&
        std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
      users.emplace_back(std::stoll(id), id);
  }
  std::sort(users.begin(), users.end());
  for (const auto& [number, id] : users)
    for (auto& m : read_space(space_manifests(home_, id), &unreadable)) out.push_back({id, std::move(m)});
  if (complete != nullptr) *complete = unreadable == 0;
  return out;
}

void Store::drop_blob_if_unused(std::string_view digest) const {
  const std::string hex = digest_hex(digest);
  std::lock_guard lock(*names_mutex_);  // every space's writes and removals wait
  bool complete = true;
  for (const auto& m : list_every_space(&complete))
    for (const auto& b : m.manifest.blobs)
      if (digest_hex(b.digest) == hex) return;
  if (!complete) {
    spdlog::warn("not deleting blob {}: some manifests cannot be read", hex.substr(0, 12));
    return;
  }
  std::error_code ec;
  std::filesystem::remove(blob_path(hex), ec);
  remove_blob_stamp(blob_path(hex));
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

std::vector<Manifest> Store::list(bool* complete) const {
  size_t unreadable = 0;
  std::vector<Manifest> out = read_space(manifests_, &unreadable);
  if (complete != nullptr) *complete = unreadable == 0;
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
  // Held from the blob check to the rename: a removal in another user's space cannot delete a
  // blob between "it is there" and "a manifest names it".
  std::lock_guard lock(*names_mutex_);
  for (const auto& blob : m.blobs) {
    std::error_code ec;
    auto path = blob_path(blob.digest);
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(ErrorKind::not_found, m.full_name() + ": blob " + blob.digest +
                                            " is not in the store (" + path.string() + ")");
    ensure_blob_stamp(path);  // installs record one; a blob from an older hearth gets it here
  }
  if (m.created_at.empty()) m.created_at = utc_now();
  auto path = manifest_path(name);
  paths::ensure_directory(path.parent_path());
  write_file_atomically(path, format_json(manifest_to_json(m), 2) + "\n");
}

void Store::remove(std::string_view ref) {
  std::lock_guard lock(*names_mutex_);
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

  // A blob is deleted only when every remaining manifest, of every user's space, could be read
  // and none names it.
  for (const auto& b : removed.blobs) drop_blob_if_unused(b.digest);
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
