// The per-user model library (see library.h): who sees which manifest, pulls for a user, and
// the background threads that run them.
#include "library/library.h"


#include <algorithm>
#include <chrono>

#include "catalog/catalog.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "library/local_user.h"
#include "library/library_db.h"
#include "library/library_pull.h"

namespace hearth::library {
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

Library::Library(store::Store& store, db::Database db) : store_(store), db_(std::move(db)) {
  adopt_shared_manifests();
}

Library::~Library() { shutdown(); }

std::int64_t Library::local_user_id() {
  std::lock_guard lock(mutex_);
  if (local_id_ == 0) local_id_ = library::local_user_id(db_);
  return local_id_;
}

LibraryDb Library::user_rows(std::int64_t user_id) {
  return LibraryDb(db_, user_id, failures_dir_for(store_.home(), user_id, is_local(user_id)));
}

store::Store& Library::names(std::int64_t user_id) {
  if (is_local(user_id)) return store_;
  std::lock_guard lock(mutex_);
  auto& space = spaces_[user_id];
  if (!space) space = store_.in_space(std::to_string(user_id));
  return *space;
}

void Library::adopt_shared_manifests() {
  // Before names were kept per user, every user's models were manifests of the owner's space,
  // with a database row saying whose they were. Each such row's manifest is copied into its
  // user's own space once (the owner's copy stays: the owner saw them all before too).
  try {
    const std::int64_t local = local_user_id();
    db::PersonalModels models(db_);
    for (const auto& user : db::Users(db_).list()) {
      if (user.id == local) continue;
      for (const auto& row : models.list_for_user(user.id)) {
        if (row.status != db::ModelStatus::installed) continue;
        try {  // one broken row must not keep everyone else's models from moving
          store::Store& mine = names(user.id);
          if (mine.find(row.custom_name)) continue;
          if (auto shared = store_.find(row.custom_name)) {
            mine.write(*shared);
            spdlog::info("model library: {} is now {}'s own name", row.custom_name, user.username);
          }
        } catch (const std::exception& e) {
          spdlog::warn("model library: cannot move {} into {}'s names: {}", row.custom_name,
                       user.username, e.what());
        }
      }
    }
  } catch (const std::exception& e) {
    spdlog::warn("model library: cannot move users' names into their own spaces: {}", e.what());
  }
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

void Library::audit(std::int64_t user_id, const std::string& action, const std::string& target,
                    const std::string& detail_json) {
  user_rows(user_id).audit(action, target, detail_json);
}

std::vector<store::Manifest> Library::list(std::int64_t user_id) { return names(user_id).list(); }

ResolvedModel Library::resolve_installed(std::int64_t user_id, std::string_view name) {
  store::Store& mine = names(user_id);
  std::optional<store::Manifest> manifest = mine.find(name);  // invalid_input for a bad name
  if (!manifest) throw model_not_found(name);
  ResolvedModel r;
  r.name = manifest->full_name();
  for (const auto& blob : manifest->blobs)
    if (blob.media_type == "model" && r.model_path.empty()) r.model_path = mine.blob_path(blob.digest);
    else if (blob.media_type == "adapter") r.adapters.push_back(mine.blob_path(blob.digest));
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
  return make_pull_plan(ref, pull_options(settings), catalog::Catalog::load(), nullptr);
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
  PullResult result = pull_model(names(user_id), rows, ref, pull_options(settings), hooks);
  forget_served_versions(user_id);  // a new row for the name serves its base
  if (result.outcome == PullResult::Outcome::cancelled) return std::nullopt;
  return result.manifest;
}

void Library::remove(std::int64_t user_id, std::string_view name) {
  const ResolvedModel r = resolve_installed(user_id, name);  // never "name@vN": that is no name
  LibraryDb rows = user_rows(user_id);
  if (auto row = rows.find(r.name)) {
    std::lock_guard lock(mutex_);
    if (auto it = row_cancels_.find(row->id); it != row_cancels_.end()) it->second->store(true);
  }
  rows.remove(r.name);
  names(user_id).remove(r.name);  // its blobs go when no user's name still uses them
  forget_served_versions(user_id);
  audit(user_id, "delete", r.name, "{}");
}

void Library::copy(std::int64_t user_id, std::string_view src, std::string_view dst) {
  const ResolvedModel from = resolve_installed(user_id, src);
  const std::string to = store::parse_model_name(dst).full();
  if (to == from.name) return;
  forget_served_versions(user_id);
  store::Store& mine = names(user_id);
  if (auto existing = mine.find(to)) {
    // Ollama's /api/copy replaces the destination (always the caller's own name).
    store::Manifest m = from.manifest;
    const store::ModelName n = store::parse_model_name(to);
    m.name = n.name;
    m.tag = n.tag;
    m.created_at.clear();
    mine.write(m);
    for (const auto& b : existing->blobs) mine.drop_blob_if_unused(b.digest);
  } else {
    mine.copy(from.name, to);
  }
  user_rows(user_id).copy(from.name, to, from.model_path.string());
  audit(user_id, "copy", to, format_json(boost::json::object{{"source", from.name}}));
}

}  // namespace hearth::library
