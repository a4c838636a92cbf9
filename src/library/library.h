// The model library as each user sees it: the machine-wide store (blobs + manifests) plus the
// database's user_personal_models rows that say which user installed what.
//
// Ownership: every user has their own names (store.h: a space of manifests per user; blobs are
// shared and content-addressed). A user sees, uses, replaces and deletes only their own names;
// another user's model answers not_found exactly as a missing one, and taking a name another
// user also has changes nothing of theirs. The implicit local user (local_user.h), the machine's
// owner, has the plain manifests/ space that the CLI uses too. Each user's database rows
// (user_personal_models) follow their manifests (reconciled when listed). Audit entries are
// written for pull, delete, copy and rename.
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

namespace hearth::library {

class LibraryDb;
struct PullPlan;

struct ResolvedModel {
  std::string name;                  // "name:tag"
  std::filesystem::path model_path;  // the GGUF weights blob
  store::Manifest manifest;
  // The fine-tuned version served (db/training.h): 0 is the base; its LoRA adapter is applied on
  // top of the base's weights.
  int version = 0;
  std::vector<std::filesystem::path> adapters;
  // A version trained by a remote API (loop/remote_job.h) is served there, not here: requests
  // for it go to remote_base_url naming remote_model (empty for everything served locally).
  std::string remote_base_url{};
  std::string remote_model{};
  bool remote() const { return !remote_model.empty(); }
};

struct PullProgressEvent {  // Ollama's /api/pull NDJSON fields
  // "pulling manifest", "pulling <digest12>", "verifying sha256 digest", "writing manifest",
  // "checking the model" (pull_check.h), "success"
  std::string status;
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
  // `store`: the owner's space. Users' names still kept in the owner's space from before names
  // were per user are copied into their own spaces here.
  Library(store::Store& store, db::Database db);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // The implicit local user (local_user.h).
  std::int64_t local_user_id();
  bool is_local(std::int64_t user_id) { return user_id == local_user_id(); }

  // The caller's installed models (see Ownership above), sorted by name.
  std::vector<store::Manifest> list(std::int64_t user_id);
  // A model the caller may use. Error(not_found): "model 'x' not found; pull it first with
  // `hearth pull x` or POST /api/pull". Error(invalid_input) for a malformed name.
  // A personal model serves its deployed version (its adapter over the base); "name@vN" names
  // version N (v0: the base), and "ft:<base>:<user>:<suffix>:<job id>" (suffix often empty) the version a training job of the
  // caller's became (or its adapter, when it completed without being deployed).
  // Error(not_found) for a version or job the caller does not have.
  ResolvedModel resolve(std::int64_t user_id, std::string_view name);
  // The installed name alone, without versions (with the adapters its manifest names).
  ResolvedModel resolve_installed(std::int64_t user_id, std::string_view name);
  // Which version each of the user's names serves is remembered (a chat must not wait for a
  // busy database to learn it); deploy and rollback, and every change of the user's names,
  // forget it.
  void forget_served_versions(std::int64_t user_id);
  // Pulls a catalog model or reference for the caller (resumable; see store.h), recording the
  // personal-model row's status and progress as it goes, then checks it and stores its
  // performance score as `hearth pull` does (library_pull.h). Blocking: run it off the I/O thread.
  // nullopt when cancelled.
  // Only the local user may import a file of the server's own disk (invalid_input otherwise);
  // a second pull of the same name by the same user while one runs is Error(conflict).
  std::optional<store::Manifest> pull(std::int64_t user_id, std::string_view ref,
                                      const std::function<void(const PullProgressEvent&)>& progress,
                                      const std::function<bool()>& cancelled,
                                      const PullSettings& settings = {});
  void remove(std::int64_t user_id, std::string_view name);                 // Error(not_found)
  void copy(std::int64_t user_id, std::string_view src, std::string_view dst);  // not_found / conflict

  // ---- models made by POST /api/create (created.cpp) ----
  // Whether the caller may use a blob: they sent its bytes (store/blob_upload.h) or one of their
  // own names uses it. Another user's blob is as unknown to them as a missing one.
  bool can_use_blob(std::int64_t user_id, std::string_view digest);
  // Installs `manifest` under the caller's own name, replacing theirs of that name as Ollama's
  // create does (blobs only the replaced one used are dropped). Its "adapter" blobs are applied
  // over its weights whenever the name is used (resolve_installed).
  void install_created(std::int64_t user_id, store::Manifest manifest);

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
  // Renames the row and its model (the row keeps its id; the old name goes) and/or sets the default options stored in its manifest's "parameters"
  // (replacing them).
  db::PersonalModel update(std::int64_t user_id, std::int64_t id,
                           const std::optional<std::string>& custom_name,
                           const std::optional<api::Options>& parameters);
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
  // The user's own names (the owner's store for the local user).
  store::Store& names(std::int64_t user_id);
  const db::Database& database() const { return db_; }

 private:
  LibraryDb user_rows(std::int64_t user_id);
  // `r` with the version asked for (nullopt: the one its row serves) and its adapter.
  ResolvedModel resolve_version(std::int64_t user_id, ResolvedModel r,
                                std::optional<std::int64_t> asked);
  // Error(invalid_input) when a user other than the local one names a file of this machine.
  void refuse_server_files(std::int64_t user_id, std::string_view ref);
  // The pull's plan after the cheap checks (server files, reference, name ownership).
  PullPlan checked_plan(std::int64_t user_id, std::string_view ref, const PullSettings& settings);
  void adopt_shared_manifests();
  void reconcile_rows(std::int64_t user_id);
  void audit(std::int64_t user_id, const std::string& action, const std::string& target,
             const std::string& detail_json);

  store::Store& store_;
  db::Database db_;
  std::mutex mutex_;
  std::int64_t local_id_ = 0;
  std::map<std::int64_t, std::unique_ptr<store::Store>> spaces_;  // users' own names, by user id
  std::mutex rows_mutex_;  // renames and the reconciling of rows with manifests, one at a time
  std::atomic<bool> stopping_{false};
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;         // finished ones are joined when the next one starts
  std::set<std::string> active_pulls_;  // "<user id> <name:tag>" of the pulls running now
  std::map<std::int64_t, std::shared_ptr<std::atomic<bool>>> row_cancels_;  // row id -> cancel
  struct Served {
    std::string weights;  // the name's weights digest when this was learnt (a re-pull differs)
    int version = 0;
    std::filesystem::path adapter;  // empty for the base
    std::string remote_base_url{};  // a version served by a remote API (ResolvedModel)
    std::string remote_model{};
  };
  std::mutex served_mutex_;
  std::map<std::pair<std::int64_t, std::string>, Served> served_;  // (user, name:tag) -> version
  // Per user, how many times forget_served_versions ran: a lookup that raced a deploy does not
  // store what it read.
  std::map<std::int64_t, std::uint64_t> served_generation_;
};

}  // namespace hearth::library
