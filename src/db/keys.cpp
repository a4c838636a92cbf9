// The master key and users' data keys of an open database (db/sealing.h).
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/config.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/paths.h"
#include "db/internal.h"
#include "db/sealing.h"

namespace hearth::db {

namespace fs = std::filesystem;

namespace {

std::function<std::string()>& passphrase_prompt() {
  static std::function<std::string()> prompt;
  return prompt;
}

constexpr std::string_view check_where = "encryption_master.key_check";
constexpr std::string_view check_text = "hearth master key";

std::string wrap_where(std::int64_t user_id, const crypto::KeyId& id) {
  return "user_keys:" + std::to_string(user_id) + ":" + crypto::key_id_hex(id);
}

bool opens(const crypto::Key& master, const std::string& check) {
  try {
    return crypto::open_text(master, check, check_where) == check_text;
  } catch (const Error&) {
    return false;
  }
}

std::string passphrase() {
  std::string p = config::get("HEARTH_PASSPHRASE");
  if (p.empty() && passphrase_prompt()) p = passphrase_prompt()();
  return p;
}

struct MasterRow {
  std::string kdf, salt, check;
  int sealed = 0;
  bool found = false;
};

MasterRow read_master_row(soci::session& sql) {
  MasterRow row;
  soci::indicator ind = soci::i_ok;
  sql << "SELECT kdf, salt, key_check, plaintext_sealed FROM encryption_master WHERE id = 1",
      soci::into(row.kdf, ind), soci::into(row.salt), soci::into(row.check),
      soci::into(row.sealed);
  row.found = sql.got_data();
  return row;
}

// The key a row asks for: the key file, or the passphrase with the row's salt. A key file whose
// rotation was stored but not yet moved into place (`hearth keys rotate` stopped between the two)
// is finished here.
crypto::Key master_for(const MasterRow& row) {
  if (row.kdf == "argon2id") {
    const std::string p = passphrase();
    if (p.empty())
      throw Error(ErrorKind::unauthorized,
                  "this database's encryption key comes from a passphrase: set HEARTH_PASSPHRASE "
                  "(or start hearth on a terminal to be asked)");
    crypto::Key k = crypto::key_from_passphrase(p, crypto::from_base64(row.salt, "salt"));
    if (!opens(k, row.check))
      throw Error(ErrorKind::unauthorized,
                  "the passphrase does not unlock this database's encrypted data");
    return k;
  }
  if (row.kdf != "file")
    throw Error(ErrorKind::corrupt_file, "encryption_master names an unknown key kind '" +
                                             row.kdf + "'");
  const fs::path file = detail::master_key_file();
  const fs::path pending = file.string() + ".new";
  if (crypto::key_file_exists(file)) {
    crypto::Key k = crypto::read_key_file(file);
    if (opens(k, row.check)) return k;
  }
  if (crypto::key_file_exists(pending)) {
    crypto::Key k = crypto::read_key_file(pending);
    if (opens(k, row.check)) {
      std::error_code ec;
      fs::rename(pending, file, ec);
      return k;
    }
  }
  if (!crypto::key_file_exists(file))
    throw Error(ErrorKind::unavailable,
                "the master key file " + file.string() +
                    " is missing: this database's encrypted data cannot be read without it. Put "
                    "back the copy you kept (`hearth backup --include-key` saves one), or point "
                    "HEARTH_KEY_FILE at it");
  throw Error(ErrorKind::unauthorized, "the master key file " + file.string() +
                                           " does not unlock this database's encrypted data "
                                           "(another installation's key?)");
}

// A new database: a passphrase when one is set, else a new key file (or the one already there,
// e.g. restored from a backup next to a new database).
MasterRow create_master(crypto::Key& master) {
  MasterRow row;
  const std::string p = config::get("HEARTH_PASSPHRASE");
  if (!p.empty()) {
    const std::string salt = crypto::random_salt();
    master = crypto::key_from_passphrase(p, salt);
    row.kdf = "argon2id";
    row.salt = crypto::to_base64(salt);
  } else {
    master = crypto::read_or_create_key_file(detail::master_key_file());
    row.kdf = "file";
  }
  row.check = crypto::seal_text(master, check_text, check_where);
  return row;
}

void lock_keys(const Database::Impl& db, soci::session& sql) {
  if (db.backend == Backend::postgresql) {
    int dummy = 0;
    sql << "SELECT 1 FROM (SELECT pg_advisory_xact_lock(4857713)) AS locked", soci::into(dummy);
  }
}

}  // namespace

void set_passphrase_prompt(std::function<std::string()> prompt) {
  passphrase_prompt() = std::move(prompt);
}

namespace detail {

fs::path master_key_file() {
  const std::string configured = config::get("HEARTH_KEY_FILE");
  return configured.empty() ? paths::home() / "secrets" / "master.key" : fs::path(configured);
}

void load_master(Database::Impl& db, soci::session& sql, bool create) {
  lock_keys(db, sql);
  MasterRow row = read_master_row(sql);
  crypto::Key master;
  if (!row.found) {
    if (!create) throw Error(ErrorKind::corrupt_file, "the database has no encryption_master row");
    row = create_master(master);
    const std::string at = format_time(now());
    sql << "INSERT INTO encryption_master (id, kdf, salt, key_check, plaintext_sealed, "
           "created_at) VALUES (1, :k, :s, :c, 0, :t)",
        soci::use(row.kdf), soci::use(row.salt), soci::use(row.check), soci::use(at);
  } else {
    master = master_for(row);
  }
  std::lock_guard lock(db.keys->mutex);
  db.keys->master = master;
  db.keys->loaded = true;
  db.keys->users.clear();  // unwrapped again under this key when next asked
}

std::optional<crypto::DataKey> stored_user_key(Database::Impl& db, soci::session& sql,
                                                std::int64_t user_id) {
  long long user = user_id;
  std::string id_hex, wrapped;
  sql << "SELECT key_id, wrapped FROM user_keys WHERE user_id = :u", soci::use(user),
      soci::into(id_hex), soci::into(wrapped);
  if (!sql.got_data()) return std::nullopt;
  crypto::DataKey key;
  key.id = crypto::key_id_from_hex(id_hex);
  std::string raw;
  try {
    raw = crypto::open_bytes(db.keys->master, crypto::from_base64(wrapped, "a user key"),
                             wrap_where(user_id, key.id));
  } catch (const Error&) {
    throw Error(ErrorKind::unauthorized, "user " + std::to_string(user_id) +
                                             "'s stored data key does not open with the master "
                                             "key: it was changed");
  }
  if (raw.size() != crypto::key_size)
    throw Error(ErrorKind::corrupt_file, "a stored user key has the wrong size");
  std::copy(raw.begin(), raw.end(), key.key.data());
  std::fill(raw.begin(), raw.end(), '\0');  // the unwrapped copy does not outlive its use
  return key;
}

std::string wrap_user_key(const crypto::Key& master, std::int64_t user_id,
                          const crypto::DataKey& key) {
  return crypto::to_base64(crypto::seal_bytes(
      master, {reinterpret_cast<const char*>(key.key.data()), key.key.size()},
      wrap_where(user_id, key.id)));
}

// After `hearth keys rotate` in another process, this one's master key is the old one: read the
// current one (the new key file) before wrapping or unwrapping with it. Called with the keys'
// mutex held.
void follow_rotation(Database::Impl& db, soci::session& sql) {
  const MasterRow row = read_master_row(sql);
  if (!row.found || opens(db.keys->master, row.check)) return;
  db.keys->master = master_for(row);
  db.keys->users.clear();
}

crypto::DataKey user_key(Database::Impl& db, soci::session& sql, std::int64_t user_id) {
  std::lock_guard lock(db.keys->mutex);
  if (!db.keys->loaded) throw Error(ErrorKind::internal, "database keys used before loading");
  if (auto it = db.keys->users.find(user_id); it != db.keys->users.end()) return it->second;
  follow_rotation(db, sql);
  std::optional<crypto::DataKey> key = stored_user_key(db, sql, user_id);
  if (!key) {
    crypto::DataKey made{crypto::random_key_id(), crypto::random_key()};
    long long user = user_id;
    const std::string id_hex = crypto::key_id_hex(made.id);
    const std::string wrapped = wrap_user_key(db.keys->master, user_id, made);
    const std::string at = format_time(now());
    // Two connections may make the first key of a user at once: the first one stored wins.
    detail::execute(sql,
                    "INSERT INTO user_keys (user_id, key_id, wrapped, created_at) VALUES "
                    "(:u, :k, :w, :t) ON CONFLICT (user_id) DO NOTHING",
                    soci::use(user), soci::use(id_hex), soci::use(wrapped), soci::use(at));
    key = stored_user_key(db, sql, user_id);
    if (!key) throw Error(ErrorKind::internal, "a user key was stored but cannot be read back");
  }
  crypto::remember_key(*key);
  db.keys->users.emplace(user_id, *key);
  return *key;
}

std::string seal(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                 std::string_view plain, std::string_view where) {
  if (plain.empty()) return {};
  return crypto::seal_text(user_key(db, sql, user_id).key, plain, where);
}

std::string open(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                 std::string_view stored, std::string_view where) {
  if (stored.empty()) return {};
  return crypto::open_text(user_key(db, sql, user_id).key, stored, where);
}

std::string seal_json(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                      std::string_view json, std::string_view where) {
  if (json.empty() || json == "{}") return "{}";
  // The column's own check cannot see inside the sealed value: the JSON is checked here.
  std::string error;
  if (!parse_json(json, &error))
    throw Error(ErrorKind::invalid_input, std::string(where) + " is not valid JSON: " + error);
  return "\"" + seal(db, sql, user_id, json, where) + "\"";
}

std::string open_json(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                      std::string_view stored, std::string_view where) {
  if (stored.empty() || stored == "{}") return "{}";
  if (stored.size() < 2 || stored.front() != '"' || stored.back() != '"')
    throw Error(ErrorKind::corrupt_file, "stored " + std::string(where) + " is not encrypted");
  return open(db, sql, user_id, stored.substr(1, stored.size() - 2), where);
}

}  // namespace detail

crypto::DataKey Database::data_key(std::int64_t user_id) const {
  return detail::with_session(*impl_, "reading a user's data key", [&](soci::session& sql) {
    return detail::user_key(*impl_, sql, user_id);
  });
}

}  // namespace hearth::db
