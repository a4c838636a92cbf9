// hearth's database (DESIGN.md §2 `db`, §3): SQLite by default, PostgreSQL by URL, through SOCI.
//
//   auto db = db::Database::open(config::get("HEARTH_DB"));  // "" → SQLite at paths::database()
//   db::PersonalModels models(db);
//   auto m = models.add({.user_id = u.id, .model_id = "reasoning-master"});
//   models.set_status(m.id, db::ModelStatus::downloading);
//
// URLs: empty → $HEARTH_HOME/hearth.db; `sqlite:///abs/path` or `sqlite://rel/path` → that file;
// `postgresql://user[:password]@host:port/db[?key=value&...]` (or postgres://) → PostgreSQL; the
// query's keys are libpq's (sslmode, connect_timeout, options, ...).
//
// Schema: versioned migrations (src/db/migrations.cpp) run at open, each in its own transaction,
// recorded in `schema_migrations(version, applied_at)`. An older database is upgraded; one that a
// newer hearth wrote (a version this build does not know) is refused with Error(unsupported).
//
// Representation, chosen so that both backends read back exactly the same values:
//   - times: Timestamp (UTC, milliseconds). PostgreSQL stores TIMESTAMPTZ; SQLite stores ISO-8601
//     UTC text "YYYY-MM-DDTHH:MM:SS.mmmZ" (fixed width, so text order is time order). hearth
//     writes every time itself (never the database's now()), at millisecond precision.
//   - JSON: std::string holding JSON text. PostgreSQL stores JSONB, SQLite TEXT checked by
//     json_valid(). The same JSON value comes back, not the same bytes (JSONB normalises spacing
//     and key order). Invalid JSON is refused with Error(invalid_input) by both.
//   - booleans are integers 0/1 and ids 64-bit on both.
//
// Errors: every failure is a hearth::Error — unavailable (cannot connect, pool exhausted, database
// busy past the timeout), conflict (a unique value already taken, an illegal status change),
// not_found (no such record, or a reference to one), invalid_input (a malformed URL, bad JSON,
// out-of-range values), corrupt_file (stored data hearth cannot read), unsupported (a newer
// schema), io (everything else the database reports), each with the database's own message.
//
// Threads: a Database is a handle to a small pool of connections and may be shared by any number
// of threads; copies share the pool. Repository objects are cheap, hold a Database, and may be
// used from any thread. Every query binds its values as parameters.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::crypto {
struct DataKey;
}

namespace hearth::db {

// ---- time ----------------------------------------------------------------------------------

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
Timestamp now();  // the system clock, truncated to milliseconds
// "2024-05-01T12:34:56.789Z"
std::string format_time(Timestamp t);
// Reads exactly the format_time form; Error(corrupt_file) for anything else.
Timestamp parse_time(std::string_view text);

// ---- the database --------------------------------------------------------------------------

enum class Backend { sqlite, postgresql };
std::string_view backend_name(Backend b);  // "sqlite", "postgresql"

struct OpenOptions {
  std::size_t pool_size = 4;                        // connections kept open
  std::chrono::milliseconds busy_timeout{10'000};   // SQLite waits this long for a lock
  std::chrono::milliseconds lease_timeout{30'000};  // waiting for a free pooled connection
  int migrate_to = 0;  // 0: the latest schema; N: stop after version N (tests, upgrade tooling)
};

class Database {
 public:
  // Opens (creating the SQLite file and HEARTH_HOME when needed) and migrates the schema.
  static Database open(const std::string& url_or_empty, const OpenOptions& options = {});

  Backend backend() const;
  // Where it points, safe to print: a file path or the URL with any password masked.
  const std::string& location() const;
  int schema_version() const;          // the highest applied migration
  static int latest_schema_version();  // the highest this build knows

  // The user's data key, for sealing that user's files (crypto/sealed_file.h); made and stored
  // when the user has none yet. Opening the database also makes its keys known to the process's
  // key registry, so any module can read those files back.
  crypto::DataKey data_key(std::int64_t user_id) const;

  struct Impl;  // the pool and dialect (src/db/internal.h); repositories use it
  const std::shared_ptr<Impl>& impl() const { return impl_; }

 private:
  explicit Database(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

// ---- encryption at rest ------------------------------------------------------------------------

// What users wrote (messages, titles, feedback, evaluation answers) is sealed with their data key;
// data keys are wrapped by the master key: a 0600 key file (HEARTH_KEY_FILE, default
// HEARTH_HOME/secrets/master.key) or a passphrase (HEARTH_PASSPHRASE, argon2id). Opening a
// database without the right key is Error(unauthorized) or Error(unavailable), saying which.

// Asked for the passphrase when a database needs one and HEARTH_PASSPHRASE is empty (the CLI sets
// one that reads the terminal without echo).
void set_passphrase_prompt(std::function<std::string()> prompt);

struct EncryptionStatus {
  std::string key_kind{};  // "file" or "argon2id"
  std::string key_file{};  // for "file": where the key is
  std::int64_t user_keys = 0;
  Timestamp created_at{};
  std::optional<Timestamp> rotated_at{};
};

class Encryption {
 public:
  explicit Encryption(const Database& db) : db_(db.impl()) {}
  EncryptionStatus status();
  // A new master key (a new key file, or one derived from `new_passphrase` when given), and every
  // user's data key re-wrapped under it in one transaction; the data itself is untouched, so a
  // running server goes on serving. The new key file is written beside the old one first
  // (".new") and moved into place after the commit; the old one is kept as ".old".
  void rotate(const std::string& new_passphrase = {});

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- users ---------------------------------------------------------------------------------

struct User {
  std::int64_t id = 0;
  std::string username{};       // unique
  std::string email{};          // may be empty
  std::string password_hash{};  // an argon2id string from the caller; never a password
  Timestamp created_at{};
};

class Users {
 public:
  explicit Users(const Database& db) : db_(db.impl()) {}
  User create(const std::string& username, const std::string& email,
              const std::string& password_hash);  // Error(conflict) when the name is taken
  std::optional<User> find(std::int64_t id);
  std::optional<User> find_by_name(const std::string& username);
  std::vector<User> list();  // oldest first
  // Users other than the implicit "local" one (any of them turns server authentication on).
  std::int64_t count_named();
  // Deletes the user with everything they own (models, jobs, tokens, usage); their audit entries
  // stay with user_id unset. False when there was none.
  bool remove(std::int64_t id);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- personal models -----------------------------------------------------------------------

// A personal model's life: pending → downloading → verifying → installed; any unfinished state
// → failed; failed → pending (a retry). Anything else is Error(conflict).
enum class ModelStatus { pending, downloading, verifying, installed, failed };
std::string_view to_string(ModelStatus s);
ModelStatus model_status_from(std::string_view text);  // Error(corrupt_file) when unknown
bool can_change(ModelStatus from, ModelStatus to);

struct PersonalModel {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string model_id{};     // the catalog model it came from, e.g. "reasoning-master"
  std::string custom_name{};  // the user's name for it; unique per user
  ModelStatus status = ModelStatus::pending;
  double download_progress = 0;  // percent, 0..100
  std::string local_path{};      // where the weights are; empty until known
  bool fine_tuned = false;
  int fine_tune_version = 0;
  std::optional<Timestamp> last_training_date{};
  double model_size_gb = 0;
  std::optional<double> performance_score{};
  std::int64_t usage_count = 0;
  Timestamp created_at{};
  Timestamp updated_at{};
};

struct NewPersonalModel {
  std::int64_t user_id = 0;
  std::string model_id{};
  std::string custom_name{};  // empty: model_id
  double model_size_gb = 0;
  std::string local_path{};
  bool fine_tuned = false;
  int fine_tune_version = 0;
};

class PersonalModels {
 public:
  explicit PersonalModels(const Database& db) : db_(db.impl()) {}
  // Status pending, progress 0. Error(conflict) when the user already has that name,
  // Error(not_found) when the user does not exist.
  PersonalModel add(const NewPersonalModel& m);
  std::optional<PersonalModel> find(std::int64_t id);
  std::optional<PersonalModel> find_by_name(std::int64_t user_id, const std::string& custom_name);
  std::vector<PersonalModel> list_for_user(std::int64_t user_id);  // oldest first
  // Moves along the status graph (see ModelStatus); progress, when given, is stored too
  // (installed always stores 100). Error(not_found) / Error(conflict) / Error(invalid_input).
  void set_status(std::int64_t id, ModelStatus status, std::optional<double> progress = {});
  void set_progress(std::int64_t id, double percent);  // only while downloading, else conflict
  void set_local_path(std::int64_t id, const std::string& path);
  void set_size(std::int64_t id, double size_gb);  // once a download learns it
  void rename(std::int64_t id, const std::string& custom_name);  // conflict when taken
  // A finished fine-tune: fine_tuned, the version, the training date and the optional score.
  void record_training(std::int64_t id, int version, Timestamp when,
                       std::optional<double> performance_score);
  // Measured speed (generated tokens per second); Error(invalid_input) unless finite and >= 0.
  void set_performance_score(std::int64_t id, double score);
  void record_usage(std::int64_t id);  // usage_count + 1
  bool remove(std::int64_t id);        // false when there was none

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- training jobs -------------------------------------------------------------------------

// queued → running → completed | failed | cancelled; queued may also end directly.
enum class JobStatus { queued, running, completed, failed, cancelled };
std::string_view to_string(JobStatus s);
JobStatus job_status_from(std::string_view text);  // Error(corrupt_file) when unknown

struct TrainingJob {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::int64_t model_id = 0;  // the personal model being fine-tuned (user_personal_models.id)
  JobStatus status = JobStatus::queued;
  std::int64_t training_data_size = 0;  // training examples
  double training_progress = 0;         // percent, 0..100
  std::optional<Timestamp> estimated_completion{};
  std::string error_message{};     // empty unless failed
  std::string training_metrics{};  // JSON object text, "{}" until reported
  Timestamp created_at{};
  std::optional<Timestamp> completed_at{};
  // What it trains on and with (the personal loop, schema 7).
  std::optional<std::int64_t> dataset_version_id{};
  std::string hyperparameters = "{}";  // JSON object text: what was asked, then what was used
  std::string eval_results = "{}";     // JSON object text: the evaluation gate's figures
  std::string trainer = "local";       // "local" (hearth's trainer) or "openai" (a remote API)
  std::string origin = "api";          // "api", "schedule" or "fine_tuning_api"
  std::optional<std::int64_t> started_by{};  // the user who started it; empty: the schedule
  std::optional<Timestamp> started_at{};     // when it first ran
  bool cancel_requested = false;
  std::string base_model{};   // the base's installed name:tag when the job was made
  std::string base_digest{};  // "sha256:..." of the base's weights
  int init_version = 0;       // continues from this version's adapter (0: a fresh adapter)
  std::string adapter_path{};               // the trained adapter, once written
  std::optional<int> deployed_version{};    // the version it became, once deployed
  std::string suffix{};                     // the fine-tuning API's model-name suffix
  std::string remote_job_id{};              // the remote trainer's job id
};

struct NewTrainingJob {
  std::int64_t user_id = 0;
  std::int64_t model_id = 0;  // user_personal_models.id, the user's own
  std::int64_t training_data_size = 0;
  std::optional<std::int64_t> dataset_version_id{};
  std::string hyperparameters = "{}";
  std::string trainer = "local";
  std::string origin = "api";
  std::optional<std::int64_t> started_by{};
  std::string base_model{};
  std::string base_digest{};
  int init_version = 0;
  std::string suffix{};
  // Refuse (Error(conflict)) while another job of the model is queued or running.
  bool one_at_a_time = false;
};

class TrainingJobs {
 public:
  explicit TrainingJobs(const Database& db) : db_(db.impl()) {}
  TrainingJob create(std::int64_t user_id, std::int64_t model_id, std::int64_t training_data_size);
  // Error(not_found) for no such personal model, Error(invalid_input) for another user's or
  // hyperparameters that are not a JSON object.
  TrainingJob create(const NewTrainingJob& job);
  std::optional<TrainingJob> find(std::int64_t id);
  // The job a runner should take next: the oldest running one (a restart resumes it), else the
  // oldest queued one, of the given trainer ("local").
  std::optional<TrainingJob> next_to_run(const std::string& trainer);
  // Marks a queued job running and stamps started_at (kept when already set); a running job
  // stays running. Error(conflict) once it has ended.
  void start(std::int64_t id);
  // A queued job is cancelled at once (true); a running one gets cancel_requested for its runner
  // (false). Error(conflict) once it has ended.
  bool request_cancel(std::int64_t id);
  // Whether cancel_requested is set (false for a job that does not exist).
  bool cancel_requested(std::int64_t id);
  void set_hyperparameters(std::int64_t id, const std::string& json);  // JSON object text
  void set_eval_results(std::int64_t id, const std::string& json);     // JSON object text
  void set_adapter_path(std::int64_t id, const std::string& path);
  void set_deployed_version(std::int64_t id, std::optional<int> version);
  void set_remote_job_id(std::int64_t id, const std::string& remote_id);
  // Marks it running; stores progress, the estimate and (when non-empty) the metrics JSON.
  // Error(conflict) once the job has ended.
  void update_progress(std::int64_t id, double percent,
                       std::optional<Timestamp> estimated_completion,
                       const std::string& metrics_json = {});
  void finish(std::int64_t id, const std::string& metrics_json);  // completed, progress 100
  void fail(std::int64_t id, const std::string& error_message);
  void cancel(std::int64_t id);
  std::vector<TrainingJob> list(std::int64_t user_id);  // newest first
  std::vector<TrainingJob> list_for_model(std::int64_t model_id);  // newest first

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- desktop connections -------------------------------------------------------------------

enum class ConnectionStatus { connected, disconnected };
std::string_view to_string(ConnectionStatus s);
ConnectionStatus connection_status_from(std::string_view text);  // Error(corrupt_file)

struct DesktopConnection {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string connection_id{};  // the desktop's own stable id; unique
  std::string app_version{};
  std::string os_info{};
  std::string hardware_info{};  // JSON object text
  Timestamp connected_at{};
  Timestamp last_seen{};
  ConnectionStatus status = ConnectionStatus::connected;
  std::string local_models{};  // JSON array text
  std::string name{};          // the agent's name, chosen when it registered
  std::string secret_hash{};   // SHA-256 (hex) of the agent's secret; "" for rows from before
};

struct DesktopHello {  // what a desktop says when it connects
  std::int64_t user_id = 0;
  std::string connection_id{};
  std::string app_version{};
  std::string os_info{};
  std::string hardware_info = "{}";
  std::string local_models = "[]";
};

class DesktopConnections {
 public:
  explicit DesktopConnections(const Database& db) : db_(db.impl()) {}
  // Registers the desktop or refreshes its row (connected, connected_at = last_seen = now).
  // Error(conflict) when the connection id belongs to another user.
  DesktopConnection upsert(const DesktopHello& hello);
  // A new agent (hearth agent's first start): status disconnected until it connects.
  // Error(conflict) when the id exists.
  DesktopConnection register_agent(std::int64_t user_id, const std::string& connection_id,
                                   const std::string& name, const std::string& secret_hash);
  // A registered agent connected (its hello): the row is refreshed as upsert() does, but never
  // created; false when the row is gone (the agent was revoked meanwhile).
  bool mark_connected(const DesktopHello& hello);
  // Deletes the user's agent; false when the user has no such agent.
  bool remove(std::int64_t user_id, const std::string& connection_id);
  std::optional<DesktopConnection> find(const std::string& connection_id);
  // last_seen = now, status connected; local_models replaced when non-empty. Error(not_found).
  void touch(const std::string& connection_id, const std::string& local_models_json = {});
  void mark_disconnected(const std::string& connection_id);   // Error(not_found)
  std::vector<DesktopConnection> list(std::int64_t user_id);  // most recently seen first

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- API tokens ----------------------------------------------------------------------------

// A token is "hearth_" + 43 base64url characters (32 random bytes). Only its SHA-256 (hex) is
// stored, so a leaked database does not leak usable tokens; the plaintext exists once, in
// create()'s result.
struct ApiToken {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string name{};    // the owner's label for it ("laptop"); may be empty
  std::string prefix{};  // its first 12 characters, for listing; not unique
  Timestamp created_at{};
  std::optional<Timestamp> last_used_at{};
  std::optional<Timestamp> revoked_at{};
  bool revoked() const { return revoked_at.has_value(); }
};

struct CreatedApiToken {
  ApiToken token;
  std::string plaintext;  // show it to the user once; it cannot be recovered later
};

class ApiTokens {
 public:
  explicit ApiTokens(const Database& db) : db_(db.impl()) {}
  static constexpr std::size_t kPrefixLength = 12;

  CreatedApiToken create(std::int64_t user_id, const std::string& name);  // Error(not_found)
  std::optional<ApiToken> find(std::int64_t id);
  // The live (not revoked) token with this plaintext; nullopt for unknown or revoked ones.
  std::optional<ApiToken> find_by_plaintext(const std::string& token);
  // Oldest first; every user's when user_id is empty.
  std::vector<ApiToken> list(std::optional<std::int64_t> user_id = {});
  // Revokes by id ("7"), by prefix ("hearth_AbCdE") or by the whole token, limited to one user's
  // tokens when user_id is set. Error(not_found) when none matches, Error(conflict) when a
  // prefix matches several live tokens (use the id), Error(invalid_input) for anything else.
  // Revoking a revoked token changes nothing (changed: false).
  struct Revoked {
    ApiToken token;  // as it now is
    bool changed = false;
  };
  Revoked revoke(const std::string& id_or_prefix, std::optional<std::int64_t> user_id = {});
  void touch(std::int64_t id);  // last_used_at = now; Error(not_found)

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- audit log -----------------------------------------------------------------------------

// What changed who may do what: users added, tokens created or revoked, and whatever else the
// server chooses to record. user_id is the account the action was done by (a server caller) or,
// for the machine owner's CLI commands, the account it was done for; it becomes empty when that
// user is removed, and the entry stays.
struct AuditEntry {
  std::int64_t id = 0;
  std::optional<std::int64_t> user_id{};
  std::string username{};  // the user's current name; empty when none or removed
  std::string action{};    // "user.add", "token.create", "token.revoke", ...
  std::string target{};    // what it acted on, e.g. a user name or a token prefix
  std::string detail{};    // JSON object text
  Timestamp created_at{};
};

class AuditLog {
 public:
  explicit AuditLog(const Database& db) : db_(db.impl()) {}
  // Error(invalid_input) when detail_json is not a JSON object or action is empty;
  // Error(not_found) when the user does not exist.
  AuditEntry record(std::optional<std::int64_t> user_id, const std::string& action,
                    const std::string& target, const std::string& detail_json = "{}");
  // Newest first, at most `limit`; every user's when user_id is empty.
  std::vector<AuditEntry> list(std::optional<std::int64_t> user_id = {}, std::size_t limit = 100);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- per-model usage -----------------------------------------------------------------------

// Running totals per (user, model name as the client asked for it).
struct ModelUsageTotals {
  std::int64_t user_id = 0;
  std::string model{};
  std::int64_t requests = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t eval_ns = 0;  // time spent generating, nanoseconds
  Timestamp last_used_at{};
};

class ModelUsage {
 public:
  explicit ModelUsage(const Database& db) : db_(db.impl()) {}
  // One finished request: adds to the totals (creating them) and, when the user has a personal
  // model whose custom_name is `model`, adds 1 to its usage_count, in one transaction.
  // Error(invalid_input) for an empty model or negative counts; Error(not_found) for no user.
  void record(std::int64_t user_id, const std::string& model, std::int64_t prompt_tokens,
              std::int64_t completion_tokens, std::int64_t eval_ns);
  std::optional<ModelUsageTotals> get(std::int64_t user_id, const std::string& model);
  std::vector<ModelUsageTotals> list(std::int64_t user_id);  // most recently used first
  // The model was renamed: its totals follow it (totals left under the new name by a model
  // deleted earlier are dropped), in one transaction.
  void rename(std::int64_t user_id, const std::string& from, const std::string& to);

 private:
  std::shared_ptr<Database::Impl> db_;
};

}  // namespace hearth::db
