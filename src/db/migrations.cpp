// The schema, as an append-only list of migrations. A released migration never changes: a new
// column or table is a new entry at the end. Each statement has its SQLite text and, where the
// dialects differ, its PostgreSQL text (types only: see db.h for how values are represented):
//   ids         INTEGER PRIMARY KEY AUTOINCREMENT     | BIGSERIAL PRIMARY KEY (references: BIGINT)
//   times       TEXT "YYYY-MM-DDTHH:MM:SS.mmmZ"        | TIMESTAMPTZ
//   JSON        TEXT CHECK (json_valid(...))          | JSONB
//   fractions   REAL                                  | DOUBLE PRECISION
#include "db/migrations.h"

#include <string>
#include <vector>

#include "db/internal.h"

namespace hearth::db::detail {
namespace {

struct Statement {
  const char* sqlite;
  const char* postgresql = nullptr;  // nullptr: the same text as sqlite
};

struct Migration {
  int version;
  const char* name;
  std::vector<Statement> statements;
};

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1,
       "users and their personal models",
       {
           {R"(CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                username TEXT NOT NULL UNIQUE,
                email TEXT NOT NULL DEFAULT '',
                password_hash TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE users (
                id BIGSERIAL PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                email TEXT NOT NULL DEFAULT '',
                password_hash TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMPTZ NOT NULL))"},
           {R"(CREATE TABLE user_personal_models (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model_id TEXT NOT NULL,
                custom_name TEXT NOT NULL,
                status TEXT NOT NULL,
                download_progress REAL NOT NULL DEFAULT 0,
                local_path TEXT NOT NULL DEFAULT '',
                fine_tuned INTEGER NOT NULL DEFAULT 0,
                fine_tune_version INTEGER NOT NULL DEFAULT 0,
                last_training_date TEXT,
                model_size_gb REAL NOT NULL DEFAULT 0,
                performance_score REAL,
                usage_count INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (user_id, custom_name)))",
            R"(CREATE TABLE user_personal_models (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model_id TEXT NOT NULL,
                custom_name TEXT NOT NULL,
                status TEXT NOT NULL,
                download_progress DOUBLE PRECISION NOT NULL DEFAULT 0,
                local_path TEXT NOT NULL DEFAULT '',
                fine_tuned INTEGER NOT NULL DEFAULT 0,
                fine_tune_version INTEGER NOT NULL DEFAULT 0,
                last_training_date TIMESTAMPTZ,
                model_size_gb DOUBLE PRECISION NOT NULL DEFAULT 0,
                performance_score DOUBLE PRECISION,
                usage_count BIGINT NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                UNIQUE (user_id, custom_name)))"},
       }},
      {2,
       "training jobs",
       {
           {R"(CREATE TABLE personal_model_training_jobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model_id INTEGER NOT NULL REFERENCES user_personal_models(id) ON DELETE CASCADE,
                job_status TEXT NOT NULL,
                training_data_size INTEGER NOT NULL DEFAULT 0,
                training_progress REAL NOT NULL DEFAULT 0,
                estimated_completion TEXT,
                error_message TEXT NOT NULL DEFAULT '',
                training_metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(training_metrics)),
                created_at TEXT NOT NULL,
                completed_at TEXT))",
            R"(CREATE TABLE personal_model_training_jobs (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model_id BIGINT NOT NULL REFERENCES user_personal_models(id) ON DELETE CASCADE,
                job_status TEXT NOT NULL,
                training_data_size BIGINT NOT NULL DEFAULT 0,
                training_progress DOUBLE PRECISION NOT NULL DEFAULT 0,
                estimated_completion TIMESTAMPTZ,
                error_message TEXT NOT NULL DEFAULT '',
                training_metrics JSONB NOT NULL DEFAULT '{}',
                created_at TIMESTAMPTZ NOT NULL,
                completed_at TIMESTAMPTZ))"},
           {"CREATE INDEX personal_model_training_jobs_user "
            "ON personal_model_training_jobs (user_id, created_at)"},
           {"CREATE INDEX personal_model_training_jobs_model "
            "ON personal_model_training_jobs (model_id)"},
       }},
      {3,
       "desktop connections",
       {
           {R"(CREATE TABLE desktop_app_connections (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                connection_id TEXT NOT NULL UNIQUE,
                app_version TEXT NOT NULL DEFAULT '',
                os_info TEXT NOT NULL DEFAULT '',
                hardware_info TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(hardware_info)),
                connected_at TEXT NOT NULL,
                last_seen TEXT NOT NULL,
                status TEXT NOT NULL,
                local_models TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(local_models))))",
            R"(CREATE TABLE desktop_app_connections (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                connection_id TEXT NOT NULL UNIQUE,
                app_version TEXT NOT NULL DEFAULT '',
                os_info TEXT NOT NULL DEFAULT '',
                hardware_info JSONB NOT NULL DEFAULT '{}',
                connected_at TIMESTAMPTZ NOT NULL,
                last_seen TIMESTAMPTZ NOT NULL,
                status TEXT NOT NULL,
                local_models JSONB NOT NULL DEFAULT '[]'))"},
           {"CREATE INDEX desktop_app_connections_user ON desktop_app_connections (user_id)"},
       }},
      {4,
       "api tokens, audit log and per-model usage",
       {
           // Only a token's SHA-256 is stored; the prefix is not unique (it is for listing).
           {R"(CREATE TABLE api_tokens (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name TEXT NOT NULL DEFAULT '',
                token_hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                created_at TEXT NOT NULL,
                last_used_at TEXT,
                revoked_at TEXT))",
            R"(CREATE TABLE api_tokens (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                name TEXT NOT NULL DEFAULT '',
                token_hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                last_used_at TIMESTAMPTZ,
                revoked_at TIMESTAMPTZ))"},
           {"CREATE INDEX api_tokens_user ON api_tokens (user_id)"},
           {"CREATE INDEX api_tokens_prefix ON api_tokens (prefix)"},
           // The entries outlive their user (user_id becomes NULL). SQLite's json_type raises an
           // error on malformed text, so CASE checks validity first (AND may not short-circuit).
           {R"(CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL DEFAULT '',
                detail TEXT NOT NULL DEFAULT '{}' CHECK (
                  CASE WHEN json_valid(detail) THEN json_type(detail) = 'object' ELSE 0 END),
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE audit_log (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL DEFAULT '',
                detail JSONB NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
                created_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX audit_log_user ON audit_log (user_id, created_at)"},
           {"CREATE INDEX audit_log_time ON audit_log (created_at)"},
           {R"(CREATE TABLE model_usage (
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                requests INTEGER NOT NULL DEFAULT 0,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                eval_ns INTEGER NOT NULL DEFAULT 0,
                last_used_at TEXT NOT NULL,
                PRIMARY KEY (user_id, model)))",
            R"(CREATE TABLE model_usage (
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                requests BIGINT NOT NULL DEFAULT 0,
                prompt_tokens BIGINT NOT NULL DEFAULT 0,
                completion_tokens BIGINT NOT NULL DEFAULT 0,
                eval_ns BIGINT NOT NULL DEFAULT 0,
                last_used_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (user_id, model)))"},
       }},
      {5,
       "conversations, messages, feedback, user settings and dataset versions",
       {
           {R"(CREATE TABLE user_settings (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                store_conversations INTEGER NOT NULL DEFAULT 1,
                training_opt_in INTEGER NOT NULL DEFAULT 0,
                updated_at TEXT NOT NULL))",
            R"(CREATE TABLE user_settings (
                user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                store_conversations INTEGER NOT NULL DEFAULT 1,
                training_opt_in INTEGER NOT NULL DEFAULT 0,
                updated_at TIMESTAMPTZ NOT NULL))"},
           // training_opt_in NULL: the user's setting decides. message_count is kept by
           // add_message/retire so that listing needs no count over messages.
           {R"(CREATE TABLE conversations (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model TEXT NOT NULL DEFAULT '',
                source TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL DEFAULT '',
                parameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(parameters)),
                training_opt_in INTEGER,
                message_count INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL))",
            R"(CREATE TABLE conversations (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                model TEXT NOT NULL DEFAULT '',
                source TEXT NOT NULL DEFAULT '',
                title TEXT NOT NULL DEFAULT '',
                parameters JSONB NOT NULL DEFAULT '{}',
                training_opt_in INTEGER,
                message_count BIGINT NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX conversations_user ON conversations (user_id, updated_at)"},
           // position -1: retired (replaced by a regeneration); live positions are unique per
           // conversation, which the partial index enforces.
           {R"(CREATE TABLE messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                role TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '',
                model TEXT NOT NULL DEFAULT '',
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                duration_ms INTEGER NOT NULL DEFAULT 0,
                regenerated INTEGER NOT NULL DEFAULT 0,
                continued INTEGER NOT NULL DEFAULT 0,
                quality_score REAL,
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE messages (
                id BIGSERIAL PRIMARY KEY,
                conversation_id BIGINT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,
                role TEXT NOT NULL,
                content TEXT NOT NULL DEFAULT '',
                model TEXT NOT NULL DEFAULT '',
                prompt_tokens BIGINT NOT NULL DEFAULT 0,
                completion_tokens BIGINT NOT NULL DEFAULT 0,
                duration_ms BIGINT NOT NULL DEFAULT 0,
                regenerated INTEGER NOT NULL DEFAULT 0,
                continued INTEGER NOT NULL DEFAULT 0,
                quality_score DOUBLE PRECISION,
                created_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX messages_conversation ON messages (conversation_id, position)"},
           {"CREATE UNIQUE INDEX messages_live_position ON messages (conversation_id, position) "
            "WHERE position >= 0"},
           {R"(CREATE TABLE feedback (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                thumbs INTEGER CHECK (thumbs IN (-1, 1)),
                rating INTEGER CHECK (rating BETWEEN 1 AND 5),
                reason TEXT NOT NULL DEFAULT '',
                comment TEXT NOT NULL DEFAULT '',
                corrected_answer TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                UNIQUE (message_id, user_id)))",
            R"(CREATE TABLE feedback (
                id BIGSERIAL PRIMARY KEY,
                message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                thumbs INTEGER CHECK (thumbs IN (-1, 1)),
                rating INTEGER CHECK (rating BETWEEN 1 AND 5),
                reason TEXT NOT NULL DEFAULT '',
                comment TEXT NOT NULL DEFAULT '',
                corrected_answer TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                UNIQUE (message_id, user_id)))"},
           {"CREATE INDEX feedback_user ON feedback (user_id)"},
           {R"(CREATE TABLE dataset_versions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                content_hash TEXT NOT NULL,
                train_examples INTEGER NOT NULL DEFAULT 0,
                validation_examples INTEGER NOT NULL DEFAULT 0,
                filter TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(filter)),
                train_path TEXT NOT NULL DEFAULT '',
                validation_path TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE dataset_versions (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                content_hash TEXT NOT NULL,
                train_examples BIGINT NOT NULL DEFAULT 0,
                validation_examples BIGINT NOT NULL DEFAULT 0,
                filter JSONB NOT NULL DEFAULT '{}',
                train_path TEXT NOT NULL DEFAULT '',
                validation_path TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX dataset_versions_user ON dataset_versions (user_id, created_at)"},
       }},
      {6,
       "messages form a tree: parent_id, and each conversation's current branch",
       {
           // A regenerated answer is kept beside the one that replaces it: both have the same
           // parent. position becomes the depth in that tree (siblings share it), so live
           // positions are no longer unique. current_message_id is the leaf of the branch the
           // conversation shows (NULL: no messages yet); no foreign key, so deleting a
           // conversation with its messages needs no ordering.
           {"ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages(id) "
            "ON DELETE CASCADE",
            "ALTER TABLE messages ADD COLUMN parent_id BIGINT REFERENCES messages(id) "
            "ON DELETE CASCADE"},
           {"ALTER TABLE conversations ADD COLUMN current_message_id INTEGER",
            "ALTER TABLE conversations ADD COLUMN current_message_id BIGINT"},
           {"DROP INDEX messages_live_position"},
           {"CREATE INDEX messages_parent ON messages (parent_id)"},
           // Existing rows: the live history (position >= 0) is the current branch, each live
           // message the child of the one before it ...
           {R"(UPDATE conversations SET current_message_id = (
                SELECT m.id FROM messages m WHERE m.conversation_id = conversations.id
                AND m.position >= 0 ORDER BY m.position DESC LIMIT 1))"},
           {R"(UPDATE messages SET parent_id = (
                SELECT p.id FROM messages p WHERE p.conversation_id = messages.conversation_id
                AND p.position >= 0 AND p.position = messages.position - 1)
              WHERE position > 0)"},
           // ... and a retired answer (position -1) hangs where it was written: under the newest
           // live message written before it (its question), at that message's depth + 1.
           {R"(UPDATE messages SET parent_id = (
                SELECT MAX(p.id) FROM messages p WHERE p.conversation_id = messages.conversation_id
                AND p.position >= 0 AND p.id < messages.id)
              WHERE position < 0)"},
           {R"(UPDATE messages SET position = COALESCE((
                SELECT p.position + 1 FROM messages p WHERE p.id = messages.parent_id), 0)
              WHERE position < 0)"},
       }},
      {7,
       "the personal loop: job details, model versions, job events, schedules, uploaded files",
       {
           // What a job trains on and with, where it stands and what came of it. cancel_requested
           // reaches the runner even when the job runs in another process's server.
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN dataset_version_id INTEGER",
            "ALTER TABLE personal_model_training_jobs ADD COLUMN dataset_version_id BIGINT"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN hyperparameters TEXT NOT NULL "
            "DEFAULT '{}' CHECK (json_valid(hyperparameters))",
            "ALTER TABLE personal_model_training_jobs ADD COLUMN hyperparameters JSONB NOT NULL "
            "DEFAULT '{}'"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN eval_results TEXT NOT NULL "
            "DEFAULT '{}' CHECK (json_valid(eval_results))",
            "ALTER TABLE personal_model_training_jobs ADD COLUMN eval_results JSONB NOT NULL "
            "DEFAULT '{}'"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN trainer TEXT NOT NULL "
            "DEFAULT 'local'"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN origin TEXT NOT NULL "
            "DEFAULT 'api'"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN started_by INTEGER",
            "ALTER TABLE personal_model_training_jobs ADD COLUMN started_by BIGINT"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN started_at TEXT",
            "ALTER TABLE personal_model_training_jobs ADD COLUMN started_at TIMESTAMPTZ"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN cancel_requested INTEGER NOT "
            "NULL DEFAULT 0"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN base_model TEXT NOT NULL "
            "DEFAULT ''"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN base_digest TEXT NOT NULL "
            "DEFAULT ''"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN init_version INTEGER NOT NULL "
            "DEFAULT 0"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN adapter_path TEXT NOT NULL "
            "DEFAULT ''"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN deployed_version INTEGER"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN suffix TEXT NOT NULL "
            "DEFAULT ''"},
           {"ALTER TABLE personal_model_training_jobs ADD COLUMN remote_job_id TEXT NOT NULL "
            "DEFAULT ''"},
           // Version N of a personal model: its adapter (or a remote model) and its lineage.
           // user_personal_models.fine_tune_version is the version served now (0: the base).
           {R"(CREATE TABLE personal_model_versions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                personal_model_id INTEGER NOT NULL REFERENCES user_personal_models(id)
                  ON DELETE CASCADE,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                job_id INTEGER,
                adapter_path TEXT NOT NULL DEFAULT '',
                adapter_digest TEXT NOT NULL DEFAULT '',
                base_model TEXT NOT NULL DEFAULT '',
                base_digest TEXT NOT NULL DEFAULT '',
                dataset_version_id INTEGER,
                dataset_hash TEXT NOT NULL DEFAULT '',
                hyperparameters TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(hyperparameters)),
                eval_results TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(eval_results)),
                remote_base_url TEXT NOT NULL DEFAULT '',
                remote_model TEXT NOT NULL DEFAULT '',
                previous_version INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                UNIQUE (personal_model_id, version)))",
            R"(CREATE TABLE personal_model_versions (
                id BIGSERIAL PRIMARY KEY,
                personal_model_id BIGINT NOT NULL REFERENCES user_personal_models(id)
                  ON DELETE CASCADE,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                version INTEGER NOT NULL,
                job_id BIGINT,
                adapter_path TEXT NOT NULL DEFAULT '',
                adapter_digest TEXT NOT NULL DEFAULT '',
                base_model TEXT NOT NULL DEFAULT '',
                base_digest TEXT NOT NULL DEFAULT '',
                dataset_version_id BIGINT,
                dataset_hash TEXT NOT NULL DEFAULT '',
                hyperparameters JSONB NOT NULL DEFAULT '{}',
                eval_results JSONB NOT NULL DEFAULT '{}',
                remote_base_url TEXT NOT NULL DEFAULT '',
                remote_model TEXT NOT NULL DEFAULT '',
                previous_version INTEGER NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL,
                UNIQUE (personal_model_id, version)))"},
           // A job's progress as a stream (SSE, the fine-tuning API's events): newest id last.
           {R"(CREATE TABLE training_job_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id INTEGER NOT NULL REFERENCES personal_model_training_jobs(id)
                  ON DELETE CASCADE,
                level TEXT NOT NULL DEFAULT 'info',
                message TEXT NOT NULL DEFAULT '',
                data TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE training_job_events (
                id BIGSERIAL PRIMARY KEY,
                job_id BIGINT NOT NULL REFERENCES personal_model_training_jobs(id)
                  ON DELETE CASCADE,
                level TEXT NOT NULL DEFAULT 'info',
                message TEXT NOT NULL DEFAULT '',
                data JSONB NOT NULL DEFAULT '{}',
                created_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX training_job_events_job ON training_job_events (job_id, id)"},
           // One opt-in schedule per personal model. last_window_start: the window that ran
           // last (never twice); last_data_at: conversations after it are the new data.
           {R"(CREATE TABLE training_schedules (
                personal_model_id INTEGER PRIMARY KEY REFERENCES user_personal_models(id)
                  ON DELETE CASCADE,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                enabled INTEGER NOT NULL DEFAULT 1,
                window_spec TEXT NOT NULL,
                time_zone TEXT NOT NULL,
                last_window_start TEXT,
                last_data_at TEXT,
                last_job_id INTEGER,
                last_outcome TEXT NOT NULL DEFAULT '',
                updated_at TEXT NOT NULL))",
            R"(CREATE TABLE training_schedules (
                personal_model_id BIGINT PRIMARY KEY REFERENCES user_personal_models(id)
                  ON DELETE CASCADE,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                enabled INTEGER NOT NULL DEFAULT 1,
                window_spec TEXT NOT NULL,
                time_zone TEXT NOT NULL,
                last_window_start TIMESTAMPTZ,
                last_data_at TIMESTAMPTZ,
                last_job_id BIGINT,
                last_outcome TEXT NOT NULL DEFAULT '',
                updated_at TIMESTAMPTZ NOT NULL))"},
           // Files uploaded through POST /v1/files (OpenAI's fine-tuning API).
           {R"(CREATE TABLE uploaded_files (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                filename TEXT NOT NULL DEFAULT '',
                purpose TEXT NOT NULL,
                bytes INTEGER NOT NULL DEFAULT 0,
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE uploaded_files (
                id BIGSERIAL PRIMARY KEY,
                user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                filename TEXT NOT NULL DEFAULT '',
                purpose TEXT NOT NULL,
                bytes BIGINT NOT NULL DEFAULT 0,
                path TEXT NOT NULL,
                sha256 TEXT NOT NULL DEFAULT '',
                created_at TIMESTAMPTZ NOT NULL))"},
           {"CREATE INDEX uploaded_files_user ON uploaded_files (user_id, created_at)"},
       }},
      {8,
       "remote trainer settings",
       {
           // The key is sealed (loop/remote_settings.h): nonce and ciphertext, base64.
           {R"(CREATE TABLE user_remote_trainers (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                base_url TEXT NOT NULL,
                sealed_key TEXT NOT NULL,
                updated_at TEXT NOT NULL))",
            R"(CREATE TABLE user_remote_trainers (
                user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                base_url TEXT NOT NULL,
                sealed_key TEXT NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL))"},
       }},
      {9,
       "desktop agents: a name and a secret per agent, and each user's route policy",
       {
           // Only the secret's SHA-256 (hex) is kept; '' for rows written before agents had one
           // (they cannot authenticate and must register again).
           {"ALTER TABLE desktop_app_connections ADD COLUMN name TEXT NOT NULL DEFAULT ''"},
           {"ALTER TABLE desktop_app_connections ADD COLUMN secret_hash TEXT NOT NULL DEFAULT ''"},
           // server/routing.h: desktop-then-local, desktop-only or local-only.
           {"ALTER TABLE user_settings ADD COLUMN route_policy TEXT NOT NULL "
            "DEFAULT 'desktop-then-local'"},
       }},
      {10,
       "remote engines",
       {
           // OpenAI-compatible engines the machine's owner routes chats to (`hearth remote`).
           // sealed_key: loop/remote_settings.h's sealed text, '' for none; models: a JSON array
           // of names, '[]' to ask the engine's GET /models; user_id NULL: every user's.
           {R"(CREATE TABLE remote_engines (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                name TEXT NOT NULL UNIQUE,
                base_url TEXT NOT NULL,
                sealed_key TEXT NOT NULL DEFAULT '',
                models TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(models)),
                user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE remote_engines (
                id BIGSERIAL PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                base_url TEXT NOT NULL,
                sealed_key TEXT NOT NULL DEFAULT '',
                models JSONB NOT NULL DEFAULT '[]',
                user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
                created_at TIMESTAMPTZ NOT NULL))"},
       }},
      {11,
       "encryption at rest",
       {
           // One row: how the master key is found (kdf 'file': HEARTH_KEY_FILE; 'argon2id': a
           // passphrase with this base64 salt) and a value sealed under it, which tells a right
           // key from a wrong one. plaintext_sealed / plaintext_files_sealed: values and files an
           // older hearth stored in plaintext have been sealed (db/sealing.h).
           {R"(CREATE TABLE encryption_master (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                kdf TEXT NOT NULL,
                salt TEXT NOT NULL DEFAULT '',
                key_check TEXT NOT NULL,
                plaintext_sealed INTEGER NOT NULL DEFAULT 0,
                plaintext_files_sealed INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                rotated_at TEXT))",
            R"(CREATE TABLE encryption_master (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                kdf TEXT NOT NULL,
                salt TEXT NOT NULL DEFAULT '',
                key_check TEXT NOT NULL,
                plaintext_sealed INTEGER NOT NULL DEFAULT 0,
                plaintext_files_sealed INTEGER NOT NULL DEFAULT 0,
                created_at TIMESTAMPTZ NOT NULL,
                rotated_at TIMESTAMPTZ))"},
           // Each user's data key, wrapped by the master key; key_id (32 hex digits) is written in
           // front of the user's sealed files. Deleting a user deletes their key with them.
           {R"(CREATE TABLE user_keys (
                user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                key_id TEXT NOT NULL UNIQUE,
                wrapped TEXT NOT NULL,
                created_at TEXT NOT NULL))",
            R"(CREATE TABLE user_keys (
                user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                key_id TEXT NOT NULL UNIQUE,
                wrapped TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL))"},
       }},
      {12,
       "reasoning kept apart",
       {
           // An answer's reasoning (the model's <think> text), sealed like its content; '' for
           // answers without one. Exports leave it out unless asked to keep it.
           {"ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT ''"},
       }},
  };
  return list;
}

// Serialises migrations between processes: SQLite's BEGIN IMMEDIATE already holds the write
// lock; PostgreSQL takes a transaction-scoped advisory lock (the key is arbitrary but fixed).
void lock_schema(const Database::Impl& db, soci::session& sql) {
  if (db.backend == Backend::postgresql) {
    int dummy = 0;
    sql << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(4857712)) AS locked", soci::into(dummy);
  }
}

void create_migrations_table(const Database::Impl& db, soci::session& sql) {
  sql << (db.backend == Backend::sqlite
              ? "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
              : "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)");
}

}  // namespace

int latest_version() {
  return migrations().back().version;
}

int applied_version(soci::session& sql) {
  int version = 0;
  sql << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", soci::into(version);
  return version;
}

void migrate(Database::Impl& db, int target) {
  const int latest = latest_version();
  if (target == 0) target = latest;
  if (target < 1 || target > latest)
    throw Error(ErrorKind::invalid_input, "database: schema version " + std::to_string(target) +
                                              " does not exist (this hearth knows 1.." +
                                              std::to_string(latest) + ")");

  int current = in_transaction(db, "reading the schema version", [&](soci::session& sql) {
    lock_schema(db, sql);
    create_migrations_table(db, sql);
    return applied_version(sql);
  });
  if (current > latest)
    throw Error(ErrorKind::unsupported,
                "database " + db.location + " has schema version " + std::to_string(current) +
                    ", newer than the " + std::to_string(latest) +
                    " this hearth knows: a newer hearth wrote it. Upgrade hearth, or point "
                    "HEARTH_DB at another database");

  for (const Migration& m : migrations()) {
    if (m.version <= current || m.version > target) continue;
    std::string doing = "applying migration " + std::to_string(m.version) + " (" + m.name + ")";
    in_transaction(db, doing, [&](soci::session& sql) {
      lock_schema(db, sql);
      if (applied_version(sql) >= m.version) return;  // another process got there first
      for (const Statement& s : m.statements)
        sql << ((db.backend == Backend::postgresql && s.postgresql) ? s.postgresql : s.sqlite);
      std::string applied_at = format_time(now());
      sql << "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :t)",
          soci::use(m.version), soci::use(applied_at);
    });
  }
}

}  // namespace hearth::db::detail
