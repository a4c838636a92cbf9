// The personal loop's tables (schema 7; db.h has the training jobs themselves):
//   ModelVersions      version N of a personal model: its adapter and lineage; deploy, rollback
//   JobEvents          a training job's progress as a stream of events
//   TrainingSchedules  one opt-in weekly schedule per personal model
//   UploadedFiles      files sent to POST /v1/files
//   RemoteTrainers     a user's OpenAI-compatible fine-tuning API (schema 8)
// Representation and errors as db.h says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.h"

namespace hearth::db {

// ---- model versions ------------------------------------------------------------------------

// Version 0 is the base itself and has no row. user_personal_models.fine_tune_version is the
// version served now; previous_version is the one served before this one was deployed, so that a
// rollback returns there.
struct ModelVersion {
  std::int64_t id = 0;
  std::int64_t personal_model_id = 0;
  std::int64_t user_id = 0;
  int version = 0;
  std::optional<std::int64_t> job_id{};
  std::string adapter_path{};    // the adapter blob (empty for a remote model)
  std::string adapter_digest{};  // "sha256:..."
  std::string base_model{};      // name:tag
  std::string base_digest{};
  std::optional<std::int64_t> dataset_version_id{};
  std::string dataset_hash{};
  std::string hyperparameters = "{}";  // JSON object text
  std::string eval_results = "{}";     // JSON object text
  std::string remote_base_url{};       // a model trained and served by a remote API
  std::string remote_model{};
  int previous_version = 0;
  Timestamp created_at{};
};

class ModelVersions {
 public:
  explicit ModelVersions(const Database& db) : db_(db.impl()) {}
  // Adds the next version (the highest so far + 1, ignoring v.version) and makes it the one
  // served, in one transaction: previous_version is the one served before, and the personal
  // model's fine_tuned, fine_tune_version and last_training_date are updated, and the job (when
  // v.job_id names one) records the version. Error(not_found) for no such personal model,
  // Error(invalid_input) for another user's, Error(conflict) for a job deployed already.
  ModelVersion deploy(const ModelVersion& v);
  // Serves the version that was served before the current one (fine_tuned turns false at 0).
  // Returns the version now served. Error(conflict) when the base (0) is already served.
  int rollback(std::int64_t personal_model_id);
  std::optional<ModelVersion> find(std::int64_t personal_model_id, int version);
  std::vector<ModelVersion> list(std::int64_t personal_model_id);  // oldest first

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- job events ----------------------------------------------------------------------------

struct JobEvent {
  std::int64_t id = 0;  // increasing: a reader asks for the events after the last it saw
  std::int64_t job_id = 0;
  std::string level = "info";  // "info", "warn", "error"
  std::string message{};
  std::string data = "{}";  // JSON object text (step figures, eval results, ...)
  Timestamp created_at{};
};

class JobEvents {
 public:
  explicit JobEvents(const Database& db) : db_(db.impl()) {}
  JobEvent add(std::int64_t job_id, const std::string& level, const std::string& message,
               const std::string& data_json = "{}");
  // Oldest first, after event id `after` (0: from the start), at most `limit`.
  std::vector<JobEvent> list(std::int64_t job_id, std::int64_t after = 0, std::size_t limit = 1000);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- training schedules --------------------------------------------------------------------

struct TrainingSchedule {
  std::int64_t personal_model_id = 0;
  std::int64_t user_id = 0;
  bool enabled = true;
  std::string window{};     // "sunday 02:00-06:00" (loop/weekly_window.h)
  std::string time_zone{};  // IANA name, e.g. "Europe/Berlin"
  std::optional<Timestamp> last_window_start{};  // the window that ran last
  std::optional<Timestamp> last_data_at{};       // conversations after this are new data
  std::optional<std::int64_t> last_job_id{};
  std::string last_outcome{};  // what the last window did, for the user
  Timestamp updated_at{};
};

class TrainingSchedules {
 public:
  explicit TrainingSchedules(const Database& db) : db_(db.impl()) {}
  // Creates or replaces the schedule's settings (enabled, window, time zone), keeping what it
  // has run. Error(invalid_input) for another user's model, Error(not_found) for none.
  TrainingSchedule put(std::int64_t user_id, std::int64_t personal_model_id, bool enabled,
                       const std::string& window, const std::string& time_zone);
  std::optional<TrainingSchedule> find(std::int64_t personal_model_id);
  std::vector<TrainingSchedule> list_enabled();
  std::vector<TrainingSchedule> list(std::int64_t user_id);
  // A window was handled: stores its start (so it never runs twice) and the outcome; data_at
  // and job_id when a job was started.
  void record_window(std::int64_t personal_model_id, Timestamp window_start,
                     const std::string& outcome, std::optional<Timestamp> data_at = {},
                     std::optional<std::int64_t> job_id = {});
  bool remove(std::int64_t personal_model_id);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- uploaded files ------------------------------------------------------------------------

struct UploadedFile {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string filename{};
  std::string purpose{};  // "fine-tune"
  std::int64_t bytes = 0;
  std::string path{};  // where it is kept
  std::string sha256{};
  Timestamp created_at{};
};

class UploadedFiles {
 public:
  explicit UploadedFiles(const Database& db) : db_(db.impl()) {}
  UploadedFile add(const UploadedFile& f);  // id and created_at are filled in
  // The user's file; nullopt for none or another user's.
  std::optional<UploadedFile> find(std::int64_t user_id, std::int64_t id);
  std::vector<UploadedFile> list(std::int64_t user_id);  // newest first
  bool remove(std::int64_t user_id, std::int64_t id);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- remote trainers -----------------------------------------------------------------------

// The OpenAI-compatible fine-tuning API a user trains through. The API key is stored only sealed
// (loop/remote_settings.h seals and opens it); this table never sees it in the clear.
struct RemoteTrainer {
  std::int64_t user_id = 0;
  std::string base_url{};    // "https://api.openai.com/v1"
  std::string sealed_key{};  // base64 of nonce + ciphertext
  Timestamp updated_at{};
};

class RemoteTrainers {
 public:
  explicit RemoteTrainers(const Database& db) : db_(db.impl()) {}
  // Creates or replaces the user's settings.
  RemoteTrainer put(std::int64_t user_id, const std::string& base_url, const std::string& sealed_key);
  std::optional<RemoteTrainer> find(std::int64_t user_id);
  bool remove(std::int64_t user_id);

 private:
  std::shared_ptr<Database::Impl> db_;
};

}  // namespace hearth::db
