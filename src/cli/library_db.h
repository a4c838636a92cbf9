// The model library's rows in the database (db/db.h): one user_personal_models row per installed
// name, owned by the user "local" (created on first use), keyed by custom_name = "name:tag".
//
// Status follows db::ModelStatus: pending → downloading → verifying → installed | failed. The
// table has no column for a failure's message, so it is kept beside the manifests, in
// HEARTH_HOME/failures/<name>/<tag>.txt (removed when the model installs or is removed).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "db/db.h"

namespace hearth::cli {

class LibraryDb {
 public:
  // Opens HEARTH_DB (empty: SQLite in HEARTH_HOME) and finds or creates the user "local".
  LibraryDb();

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
  // Marks the row failed (from any unfinished state) and records the message.
  void fail(std::int64_t id, const std::string& full_name, const std::string& message);
  // Removes the row (and any failure message); false when there was none.
  bool remove(const std::string& full_name);
  // A row for `dst` copied from `src`'s row (or a fresh installed one when src has none).
  void copy(const std::string& src, const std::string& dst, const std::string& local_path);

  static std::string failure_message(const std::string& full_name);  // "" when none
  static void clear_failure(const std::string& full_name);

 private:
  db::Database db_;
  db::PersonalModels models_;
  std::int64_t user_id_ = 0;
};

// "installed", "failed", ... for a name; nullopt when the database has no row or cannot be read
// (the error goes to the log: listing models must not depend on the database).
std::optional<db::PersonalModel> try_find_row(const std::string& full_name);

}  // namespace hearth::cli
