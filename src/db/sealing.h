// Inside the db module: the master key and the users' data keys of one open database, and the
// sealing of the columns that hold what users wrote (crypto/crypto.h has the primitives).
//
// Sealed columns (text "hx1:..." in place of the value; '' stays ''):
//   messages.content, conversations.title, feedback.reason / comment / corrected_answer,
//   personal_model_training_jobs.suffix (the name a user gave a fine-tune),
//   personal_model_training_jobs.eval_results and personal_model_versions.eval_results (JSON
//   columns: the sealed text is stored as one JSON string).
// Tables: encryption_master (one row: how the master key is found — a key file or a passphrase
// with its salt — and a value sealed under it that tells a wrong key from a right one) and
// user_keys (each user's data key wrapped by the master key, with the key's id).
#pragma once

#include <soci/soci.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "crypto/keyring.h"
#include "db/db.h"

namespace hearth::db::detail {

struct Keys {
  std::mutex mutex;
  bool loaded = false;
  crypto::Key master{};
  std::map<std::int64_t, crypto::DataKey> users;
  std::shared_ptr<void> source;  // this database as a source for the process's key registry
};

// HEARTH_KEY_FILE, else HEARTH_HOME/secrets/master.key.
std::filesystem::path master_key_file();

// Reads the master key the encryption_master row asks for (creating the row, and a key file or
// salt, for a new database when `create`), checks it and makes it the database's key.
void load_master(Database::Impl& db, soci::session& sql, bool create);
std::optional<crypto::DataKey> stored_user_key(Database::Impl& db, soci::session& sql,
                                                std::int64_t user_id);
std::string wrap_user_key(const crypto::Key& master, std::int64_t user_id,
                          const crypto::DataKey& key);

// Reads (or, for a new database, sets up) the master key and seals any plaintext left by an
// older hearth. Called by Database::open after the migrations.
void open_keys(Database::Impl& db);

// The user's data key, made and stored (on this session, inside its transaction if any) when the
// user has none yet.
crypto::DataKey user_key(Database::Impl& db, soci::session& sql, std::int64_t user_id);

// Column values: '' stays ''; anything else is sealed / must open (Error(corrupt_file) when a
// stored value is not sealed or does not open). `where` is "table.column".
std::string seal(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                 std::string_view plain, std::string_view where);
std::string open(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                 std::string_view stored, std::string_view where);
// The same for JSON columns: the sealed value is a JSON string; "{}" (the default) stays "{}".
std::string seal_json(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                      std::string_view json, std::string_view where);
std::string open_json(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                      std::string_view stored, std::string_view where);

}  // namespace hearth::db::detail
