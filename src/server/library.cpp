// The per-user model library (see library.h): who sees which manifest, pulls for a user, and
// the background threads that run them.
#include "server/library.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>

#include "catalog/catalog.h"
#include "core/error.h"
#include "core/log.h"
#include "server/auth.h"
#include "server/library_db.h"
#include "server/library_pull.h"

namespace hearth::server {
namespace {

namespace fs = std::filesystem;

Error model_not_found(std::string_view name) {
  const std::string n(name);
  return Error(ErrorKind::not_found, "model '" + n + "' not found; pull it first with `hearth pull " +
                                         n + "` or POST /api/pull");
}

std::string pull_key(std::int64_t user_id, const std::string& full_name) {
  return std::to_string(user_id) + " " + full_name;
}

// Marks a pull as running for its lifetime (a second pull of the same name by the same user is
// refused rather than racing the first over one row).
class ActivePull {
 public:
  ActivePull(std::mutex& mutex, std::set<std::string>& active, std::string key)
      : mutex_(mutex), active_(active), key_(std::move(key)) {
    std::lock_guard lock(mutex_);
    if (!active_.insert(key_).second)
      throw Error(ErrorKind::conflict, "a pull of " + key_.substr(key_.find(' ') + 1) +
                                           " is already running; wait for it to finish");
  }
  ~ActivePull() {
    std::lock_guard lock(mutex_);
    active_.erase(key_);
  }
  ActivePull(const ActivePull&) = delete;
  ActivePull& operator=(const ActivePull&) = delete;

 private:
  std::mutex& mutex_;
  std::set<std::string>& active_;
  std::string key_;
};

}  // namespace

Library::Library(store::Store& store, db::Database db) : store_(store), db_(std::move(db)) {}

Library::~Library() { shutdown(); }

std::int64_t Library::local_user_id() {
  std::lock_guard lock(mutex_);
  if (local_id_ == 0) local_id_ = server::local_user_id(db_);
  return local_id_;
}

LibraryDb Library::user_rows(std::int64_t user_id) {
  const fs::path home = store_.blobs_dir().parent_path();
  fs::path failures = is_local(user_id)
                          ? home / "failures"
                          : home / "failures-by-user" / std::to_string(user_id);
  return LibraryDb(db_, user_id, std::move(failures));
}

bool Library::held_by_others(std::int64_t user_id, const std::string& full_name) {
  db::PersonalModels models(db_);
  for (const auto& user : db::Users(db_).list())
    if (user.id != user_id && models.find_by_name(user.id, full_name)) return true;
  return false;
}

// A reference naming a file of the server's own disk (catalog::names_local_file, the parser's
// own rule, so ".hidden" or "X.GGUF" cannot slip past; file:// and other schemes the parser
// refuses for everyone). Only the machine's owner may import those: for anyone else even "no
// such file" would tell them about the server's disk.
void Library::refuse_server_files(std::int64_t user_id, std::string_view ref) {
  if (catalog::names_local_file(ref) && !is_local(user_id))
    throw Error(ErrorKind::invalid_input,
                "'" + std::string(ref) + "': only the machine's owner may import a file from the "
                "server's disk; pull a catalog name, hf:// reference or URL instead");
}

void Library::check_name_free(std::int64_t user_id, const PullPlan& plan) {
  const std::string source =
      plan.is_local_file() ? plan.local_file.lexically_normal().string() : plan.url;
  if (auto existing = store_.find(plan.full_name);
      existing && existing->source != source && held_by_others(user_id, plan.full_name))
    throw Error(ErrorKind::conflict, "the name " + plan.full_name +
                                         " is taken by another model; pull it under another name");
}

std::vector<std::string> Library::visible_names(std::int64_t user_id) {
  std::vector<std::string> names;
  if (is_local(user_id)) {
    for (const auto& m : store_.list()) names.push_back(m.full_name());
    return names;
  }
  for (const auto& row : db::PersonalModels(db_).list_for_user(user_id))
    if (row.status == db::ModelStatus::installed) names.push_back(row.custom_name);
  std::sort(names.begin(), names.end());
  return names;
}

void Library::audit(std::int64_t user_id, const std::string& action, const std::string& target,
                    const std::string& detail_json) {
  user_rows(user_id).audit(action, target, detail_json);
}

std::vector<store::Manifest> Library::list(std::int64_t user_id) {
  std::vector<store::Manifest> all = store_.list();
  if (is_local(user_id)) return all;
  const std::vector<std::string> mine = visible_names(user_id);
  std::erase_if(all, [&](const store::Manifest& m) {
    return !std::binary_search(mine.begin(), mine.end(), m.full_name());
  });
  return all;
}

ResolvedModel Library::resolve(std::int64_t user_id, std::string_view name) {
  const store::ModelName wanted = store::parse_model_name(name);  // invalid_input
  std::optional<store::Manifest> manifest;
  if (is_local(user_id)) {
    manifest = store_.find(name);
  } else {
    // The rule of store.h (no tag: "latest", else the only tag), among the caller's own names.
    const std::vector<std::string> mine = visible_names(user_id);
    std::string full;
    if (!wanted.tag.empty() || std::binary_search(mine.begin(), mine.end(), wanted.full())) {
      full = wanted.full();
    } else {
      std::vector<std::string> tags;
      for (const auto& n : mine)
        if (n.rfind(wanted.name + ":", 0) == 0) tags.push_back(n);
      if (tags.size() == 1) full = tags.front();
    }
    if (!full.empty() && std::binary_search(mine.begin(), mine.end(), full))
      manifest = store_.find(full);
  }
  if (!manifest) throw model_not_found(name);
  ResolvedModel r;
  r.name = manifest->full_name();
  for (const auto& blob : manifest->blobs)
    if (blob.media_type == "model" && r.model_path.empty()) r.model_path = store_.blob_path(blob.digest);
  std::error_code ec;
  if (r.model_path.empty() || !fs::is_regular_file(r.model_path, ec))
    throw Error(ErrorKind::corrupt_file,
                r.name + ": its weights are missing; pull it again or delete it");
  r.manifest = std::move(*manifest);
  return r;
}

namespace {
PullOptions pull_options(const PullSettings& settings) {
  PullOptions options;
  options.name = settings.name;
  options.force = settings.force;
  options.through_api = true;  // URL addresses checked, errors name no server file
  return options;
}
}  // namespace

PullPlan Library::checked_plan(std::int64_t user_id, std::string_view ref,
                               const PullSettings& settings) {
  refuse_server_files(user_id, ref);
  PullPlan plan = make_pull_plan(ref, pull_options(settings), catalog::Catalog::load(), nullptr);
  check_name_free(user_id, plan);
  return plan;
}

std::optional<store::Manifest> Library::pull(
    std::int64_t user_id, std::string_view ref,
    const std::function<void(const PullProgressEvent&)>& progress,
    const std::function<bool()>& cancelled, const PullSettings& settings) {
  const PullPlan plan = checked_plan(user_id, ref, settings);
  ActivePull active(mutex_, active_pulls_, pull_key(user_id, plan.full_name));

  // The downloader watches a CancelToken; this thread turns the caller's predicate into one.
  store::CancelToken token;
  std::jthread watcher([&](std::stop_token stop) {
    while (!stop.stop_requested() && !token.cancelled()) {
      if (stopping_.load() || (cancelled && cancelled())) token.cancel();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  PullHooks hooks;
  hooks.note = [](const std::string& line) { spdlog::debug("pull: {}", line); };
  hooks.event = [&](const PullProgressEvent& e) {
    if (progress) progress(e);
  };
  hooks.cancel = &token;
  LibraryDb rows = user_rows(user_id);
  PullResult result = pull_model(store_, rows, ref, pull_options(settings), hooks);
  if (result.outcome == PullResult::Outcome::cancelled) return std::nullopt;
  if (result.outcome == PullResult::Outcome::installed)
    audit(user_id, "pull", result.full_name,
          nlohmann::json{{"reference", std::string(ref)}, {"source", result.manifest.source}}.dump());
  return result.manifest;
}

void Library::remove(std::int64_t user_id, std::string_view name) {
  const ResolvedModel r = resolve(user_id, name);
  LibraryDb rows = user_rows(user_id);
  if (auto row = rows.find(r.name)) {
    std::lock_guard lock(mutex_);
    if (auto it = row_cancels_.find(row->id); it != row_cancels_.end()) it->second->store(true);
  }
  rows.remove(r.name);
  const bool kept = held_by_others(user_id, r.name);
  if (!kept) store_.remove(r.name);
  audit(user_id, "delete", r.name, nlohmann::json{{"files_removed", !kept}}.dump());
}

void Library::copy(std::int64_t user_id, std::string_view src, std::string_view dst) {
  const ResolvedModel from = resolve(user_id, src);
  const std::string to = store::parse_model_name(dst).full();
  if (to == from.name) return;
  if (auto existing = store_.find(to)) {
    // Ollama's /api/copy replaces the destination; only the caller's own (or nobody's) though.
    if (held_by_others(user_id, to))
      throw Error(ErrorKind::conflict, "the name " + to + " is taken; choose another");
    store::Manifest m = from.manifest;
    const store::ModelName n = store::parse_model_name(to);
    m.name = n.name;
    m.tag = n.tag;
    m.created_at.clear();
    store_.write(m);
    for (const auto& b : existing->blobs) drop_unused_blob(store_, b.digest);
  } else {
    store_.copy(from.name, to);
  }
  user_rows(user_id).copy(from.name, to, from.model_path.string());
  audit(user_id, "copy", to, nlohmann::json{{"source", from.name}}.dump());
}

}  // namespace hearth::server
