// One user's model-library rows in the database (db/db.h): one user_personal_models row per
// installed name, keyed by custom_name = "name:tag". Shared by `hearth pull/list/rm/cp` (the user
// "local") and the server's Library (any user).
//
// Status follows db::ModelStatus: pending → downloading → verifying → installed | failed. The
// table has no column for a failure's message, so it is kept beside the manifests, as text:
//   HEARTH_HOME/failures/<name>/<tag>.txt              the local user's (what the CLI shows)
//   HEARTH_HOME/failures-by-user/<id>/<name>/<tag>.txt every other user's
// (removed when the model installs again or is removed).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "db/db.h"

namespace hearth::library {

class LibraryDb {
 public:
  // The CLI's: opens HEARTH_DB (empty: SQLite in HEARTH_HOME) as the user the CLI acts for
  // (set_cli_user; the owner, "local", by default). Error(not_found) for an unknown user.
  LibraryDb();
  // `failures_dir`: where this user's failure messages live (see above).
  LibraryDb(db::Database db, std::int64_t user_id, std::filesystem::path failures_dir);

  db::PersonalModels& models() { return models_; }
  std::int64_t user_id() const { return user_id_; }
  const db::Database& database() const { return db_; }

  std::optional<db::PersonalModel> find(const std::string& full_name);
  // The row for `full_name`, made ready for a new pull: created when missing; a failed or
  // verifying row (cut short) goes back to pending; an installed row is replaced by a fresh
  // pending one; a pending or downloading row (an interrupted download) is kept as it is.
  db::PersonalModel begin_pull(const std::string& full_name, const std::string& model_id,
                               double size_gb, const std::string& local_path);
  // Moves the row forward to `status` through the steps between (a no-op when it is there or
  // further along; from failed it restarts at pending; failed is reached from any unfinished
  // state).
  void advance(std::int64_t id, db::ModelStatus status);
  void set_performance_score(std::int64_t id, double score);
  // Records the message, then marks the row failed (from any unfinished state).
  void fail(std::int64_t id, const std::string& full_name, const std::string& message);
  // Removes the row (and any failure message); false when there was none.
  bool remove(const std::string& full_name);
  // A row for `dst` copied from `src`'s row (or a fresh installed one when src has none); an
  // existing `dst` row is replaced.
  void copy(const std::string& src, const std::string& dst, const std::string& local_path);

  // A row for a model that is installed without one (its status installed).
  void record_installed(const std::string& full_name, std::uint64_t size_bytes);

  // Records an audit entry for this user (db::AuditLog); best effort: a failure is only logged.
  void audit(const std::string& action, const std::string& target,
             const std::string& detail_json = "{}");

  std::string failure_message(const std::string& full_name) const;  // "" when none
  void clear_failure(const std::string& full_name) const;

 private:
  std::filesystem::path failure_file(const std::string& full_name) const;

  db::Database db_;
  db::PersonalModels models_;
  std::int64_t user_id_ = 0;
  std::filesystem::path failures_dir_;
};

// The CLI acts for the machine's owner (the implicit user "local") unless `--user NAME` names
// another user of the server; then its pulls, lists and removals use that user's names.
void set_cli_user(std::string name);
// That user's space of names in the store (store.h): "" for the owner, else the user's id.
// Error(not_found) for an unknown user.
std::string cli_space();
// Where a user's failure messages are kept (see above).
std::filesystem::path failures_dir_for(const std::filesystem::path& home, std::int64_t user_id,
                                       bool is_local);

// The CLI's user's failure message for a name ("" when none) and its removal (for the owner,
// without opening the database).
std::string local_failure_message(const std::string& full_name);
void clear_local_failure(const std::string& full_name);

// The CLI's user's row for a name; nullopt when there is none or the database cannot be read
// (the error goes to the log: listing models must not depend on the database).
std::optional<db::PersonalModel> try_find_row(const std::string& full_name);

}  // namespace hearth::library
