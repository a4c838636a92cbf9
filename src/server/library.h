// The model library as each user sees it: the machine-wide store (blobs + manifests) plus the
// database's user_personal_models rows that say which user installed what.
//
// Ownership: a named user sees and uses only the models they have a row for (custom_name =
// "name:tag"); another user's model answers not_found, exactly as a missing one. The implicit
// local user (auth.h) is the machine's owner and sees every installed manifest. Removing a
// model removes the caller's row, and the manifest (and unused blobs) only when no other user
// still has a row for it. Audit entries are written for pull, delete and copy.
//
// Names are machine-wide (one manifest per name:tag): a pull or copy onto a name another user
// holds is refused with Error(conflict) rather than replacing their model; a copy onto the
// caller's own name replaces it, as Ollama's /api/copy does.
//
// Background pulls (start_download, and the pull threads of POST /api/pull) are tracked here:
// shutdown() cancels them and joins their threads; the destructor calls it.
#pragma once

#include <cstdint>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "db/db.h"
#include "store/store.h"

namespace hearth::server {

class LibraryDb;
struct PullPlan;

struct ResolvedModel {
  std::string name;                  // "name:tag"
  std::filesystem::path model_path;  // the GGUF weights blob
  store::Manifest manifest;
};

struct PullProgressEvent {  // Ollama's /api/pull NDJSON fields
  std::string status;       // "pulling manifest", "pulling <digest12>", "verifying sha256 digest", "writing manifest", "success"
  std::string digest;       // "sha256:..." while a blob downloads
  std::uint64_t total = 0;
  std::uint64_t completed = 0;
};

struct PullSettings {  // optional parts of a pull request
  std::string name;     // install under this name[:tag]; empty: derived from the reference
  bool force = false;   // pull even when the model will not fit this machine
};

class Library {
 public:
  Library(store::Store& store, db::Database db);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // The implicit local user (auth.h), who sees every installed model.
  std::int64_t local_user_id();
  bool is_local(std::int64_t user_id) { return user_id == local_user_id(); }

  // The caller's installed models (see Ownership above), sorted by name.
  std::vector<store::Manifest> list(std::int64_t user_id);
  // A model the caller may use. Error(not_found): "model 'x' not found; pull it first with
  // `hearth pull x` or POST /api/pull". Error(invalid_input) for a malformed name.
  ResolvedModel resolve(std::int64_t user_id, std::string_view name);
  // Pulls a catalog model or reference for the caller (resumable; see store.h), recording the
  // personal-model row's status and progress as it goes. Blocking: run it off the I/O thread.
  // nullopt when cancelled.
  // Only the local user may import a file of the server's own disk (invalid_input otherwise);
  // a second pull of the same name by the same user while one runs is Error(conflict).
  std::optional<store::Manifest> pull(std::int64_t user_id, std::string_view ref,
                                      const std::function<void(const PullProgressEvent&)>& progress,
                                      const std::function<bool()>& cancelled,
                                      const PullSettings& settings = {});
  void remove(std::int64_t user_id, std::string_view name);                 // Error(not_found)
  void copy(std::int64_t user_id, std::string_view src, std::string_view dst);  // not_found / conflict

  // ---- personal-model rows (/api/personal-models) ----
  std::vector<db::PersonalModel> rows(std::int64_t user_id);
  // The caller's row; Error(not_found) "personal model N not found" for anyone else's.
  db::PersonalModel row(std::int64_t user_id, std::int64_t id);
  // Why the row's pull failed ("" when it did not).
  std::string failure_message(std::int64_t user_id, const std::string& full_name);
  // Makes (or readies) the row for `ref` at once and pulls it on a background thread; returns the
  // row as it is now (pending). Errors about the reference come back at once.
  db::PersonalModel start_download(std::int64_t user_id, std::string_view ref,
                                   const PullSettings& settings = {});
  // Renames the row and its model (the row keeps its id; the old manifest goes unless another
  // user still has it) and/or sets the default options stored in its manifest's "parameters"
  // (replacing them; conflict when another user shares that manifest).
  db::PersonalModel update(std::int64_t user_id, std::int64_t id,
                           const std::optional<std::string>& custom_name,
                           const std::optional<nlohmann::json>& parameters);
  // Deletes the row (cancelling its pull when one runs) and, as remove(), its model.
  void remove_row(std::int64_t user_id, std::int64_t id);

  // Runs `work` on a tracked thread; `work` gets a predicate that turns true at shutdown().
  // Error(unavailable) once shutdown() has begun.
  void run_in_background(std::function<void(const std::function<bool()>& stopping)> work);
  // Tells pulls running in the background (started by the server) to stop, without waiting:
  // safe on the I/O thread. Later starts answer Error(unavailable).
  void stop();
  // stop(), then waits for them; their partial downloads stay for a later resume. Safe to call
  // more than once.
  void shutdown();

  store::Store& store() { return store_; }
  const db::Database& database() const { return db_; }

 private:
  LibraryDb user_rows(std::int64_t user_id);
  bool held_by_others(std::int64_t user_id, const std::string& full_name);
  // Error(invalid_input) when a user other than the local one names a file of this machine.
  void refuse_server_files(std::int64_t user_id, std::string_view ref);
  // Error(conflict) when the plan's name holds another user's model from another source.
  void check_name_free(std::int64_t user_id, const PullPlan& plan);
  // The pull's plan after the cheap checks (server files, reference, name ownership).
  PullPlan checked_plan(std::int64_t user_id, std::string_view ref, const PullSettings& settings);
  std::vector<std::string> visible_names(std::int64_t user_id);
  void audit(std::int64_t user_id, const std::string& action, const std::string& target,
             const std::string& detail_json);

  store::Store& store_;
  db::Database db_;
  std::mutex mutex_;
  std::int64_t local_id_ = 0;
  std::atomic<bool> stopping_{false};
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;         // finished ones are joined when the next one starts
  std::set<std::string> active_pulls_;  // "<user id> <name:tag>" of the pulls running now
  std::map<std::int64_t, std::shared_ptr<std::atomic<bool>>> row_cancels_;  // row id -> cancel
};

}  // namespace hearth::server
