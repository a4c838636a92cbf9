// Opening a database's keys, sealing what an older hearth left in plaintext, and rotating the
// master key (db/sealing.h, db.h "encryption at rest").
#include <filesystem>

#include "core/log.h"
#include "core/paths.h"
#include "crypto/sealed_file.h"
#include "db/internal.h"
#include "db/sealing.h"

namespace hearth::db {

namespace fs = std::filesystem;

namespace {

crypto::DataKey db_data_key(Database::Impl& db, long long user) {
  return detail::with_session(db, "reading a user's data key",
                              [&](soci::session& sql) { return detail::user_key(db, sql, user); });
}

// Every sealed column, with the SQL that names the row's owner.
struct SealedColumn {
  const char* table;
  const char* column;
  const char* owner;  // an expression giving the user id of the row
  bool json;
};

constexpr SealedColumn sealed_columns[] = {
    {"messages", "content",
     "(SELECT c.user_id FROM conversations c WHERE c.id = messages.conversation_id)", false},
    {"conversations", "title", "user_id", false},
    {"feedback", "reason", "user_id", false},
    {"feedback", "comment", "user_id", false},
    {"feedback", "corrected_answer", "user_id", false},
    {"personal_model_training_jobs", "eval_results", "user_id", true},
    {"personal_model_training_jobs", "suffix", "user_id", false},
    {"personal_model_versions", "eval_results", "user_id", true},
};

struct PlainRow {
  long long id = 0;
  long long user = 0;
  std::string value;
};

// Seals one column's plaintext values; returns how many.
std::size_t seal_column(Database::Impl& db, soci::session& sql, const SealedColumn& c) {
  const std::string value = c.json ? detail::json_column(db, c.column) : std::string(c.column);
  const std::string where = std::string(c.table) + "." + c.column;
  const std::string unsealed = c.json ? value + " <> '{}' AND " + value + " NOT LIKE '\"hx1:%'"
                                      : value + " <> '' AND " + value + " NOT LIKE 'hx1:%'";
  std::vector<PlainRow> rows;
  {
    PlainRow row;
    soci::statement st = (sql.prepare << "SELECT id, " + std::string(c.owner) + ", " + value +
                                             " FROM " + c.table + " WHERE " + unsealed,
                          soci::into(row.id), soci::into(row.user), soci::into(row.value));
    st.execute();
    while (st.fetch()) rows.push_back(row);
  }
  for (PlainRow& r : rows) {
    std::string sealed = c.json ? detail::seal_json(db, sql, r.user, r.value, where)
                                : detail::seal(db, sql, r.user, r.value, where);
    detail::execute(sql, "UPDATE " + std::string(c.table) + " SET " + c.column + " = :v WHERE id = :i",
                    soci::use(sealed), soci::use(r.id));
  }
  return rows.size();
}

// The old plaintext lives on in free pages and the write-ahead log until the files are rebuilt.
void rebuild_files(Database::Impl& db) {
  detail::with_session(db, "removing old plaintext", [&](soci::session& sql) {
    if (db.backend == Backend::sqlite) {
      sql << "PRAGMA wal_checkpoint(TRUNCATE)";
      sql << "VACUUM";
      sql << "PRAGMA wal_checkpoint(TRUNCATE)";
    } else {
      for (const char* table : {"messages", "conversations", "feedback",
                                "personal_model_training_jobs", "personal_model_versions"})
        sql << "VACUUM FULL " + std::string(table);
    }
  });
}

// The files of a user's rows: datasets, uploads, adapters and each job's checkpoints.
struct OwnedFile {
  long long user = 0;
  std::string path;
};

std::vector<OwnedFile> owned_files(soci::session& sql) {
  std::vector<OwnedFile> out;
  OwnedFile f;
  for (const char* query :
       {"SELECT user_id, train_path FROM dataset_versions",
        "SELECT user_id, validation_path FROM dataset_versions",
        "SELECT user_id, path FROM uploaded_files",
        "SELECT user_id, adapter_path FROM personal_model_training_jobs",
        "SELECT user_id, adapter_path FROM personal_model_versions"}) {
    soci::statement st = (sql.prepare << query, soci::into(f.user), soci::into(f.path));
    st.execute();
    while (st.fetch())
      if (!f.path.empty()) out.push_back(f);
  }
  return out;
}

// Files an older hearth wrote in plaintext, sealed in place once (each atomically; a stop half
// way leaves some sealed and the rest for the next open, since the flag is set last).
void seal_plain_files(Database::Impl& db) {
  const auto files = detail::with_session(db, "finding files to encrypt", [&](soci::session& sql) {
    int done = 0;
    sql << "SELECT plaintext_files_sealed FROM encryption_master WHERE id = 1", soci::into(done);
    return done ? std::vector<OwnedFile>{} : owned_files(sql);
  });
  std::size_t sealed = 0;
  // Only what hearth keeps: a folder the user named for a plain export stays as they asked.
  const std::string home = fs::weakly_canonical(paths::home()).string() + "/";
  for (const OwnedFile& f : files) {
    std::error_code ec;
    if (!fs::weakly_canonical(f.path, ec).string().starts_with(home)) continue;
    std::vector<fs::path> paths{f.path};
    // A job's checkpoints live beside its adapter (jobs/<id>/checkpoints/step-N/*.gguf).
    const fs::path checkpoints = fs::path(f.path).parent_path() / "checkpoints";
    if (fs::is_directory(checkpoints, ec))
      for (const auto& e : fs::recursive_directory_iterator(checkpoints, ec))
        if (e.is_regular_file(ec)) paths.push_back(e.path());
    for (const fs::path& p : paths) {
      if (!fs::is_regular_file(p, ec) || crypto::is_sealed_file(p)) continue;
      const crypto::DataKey key = db_data_key(db, f.user);
      if (crypto::seal_file_in_place(p, key)) ++sealed;
    }
  }
  if (sealed > 0) spdlog::info("encrypted {} files that an older hearth kept in plaintext", sealed);
  detail::with_session(db, "recording the files as encrypted", [&](soci::session& sql) {
    sql << "UPDATE encryption_master SET plaintext_files_sealed = 1 WHERE id = 1";
  });
}

}  // namespace

namespace detail {

void open_keys(Database::Impl& db) {
  // Loading, and sealing anything an older hearth left in plaintext, is one transaction: a crash
  // leaves the database as it was, and the next open does it again.
  const std::size_t sealed =
      in_transaction(db, "opening the encryption keys", [&](soci::session& sql) {
        load_master(db, sql, true);
        int done = 0;
        sql << "SELECT plaintext_sealed FROM encryption_master WHERE id = 1", soci::into(done);
        if (done) return std::size_t{0};
        std::size_t n = 0;
        for (const SealedColumn& c : sealed_columns) n += seal_column(db, sql, c);
        sql << "UPDATE encryption_master SET plaintext_sealed = 1 WHERE id = 1";
        return n;
      });
  if (sealed > 0) {
    spdlog::info("encrypted {} stored values that an older hearth kept in plaintext", sealed);
    rebuild_files(db);
  }
  seal_plain_files(db);
  // This database as a source of keys for sealed files: by key id, unwrapped when first asked.
  std::weak_ptr<Keys> keys = db.keys;
  Database::Impl* raw = &db;
  db.keys->source = crypto::add_key_source([raw, keys](const crypto::KeyId& id)
                                               -> std::optional<crypto::Key> {
    // The handle lives in Keys, which the Impl owns: while it can be locked, `raw` is alive.
    auto held = keys.lock();
    if (!held) return std::nullopt;
    const std::string hex = crypto::key_id_hex(id);
    return with_session(*raw, "finding a file's key",
                        [&](soci::session& sql) -> std::optional<crypto::Key> {
                          long long user = 0;
                          sql << "SELECT user_id FROM user_keys WHERE key_id = :k",
                              soci::use(hex), soci::into(user);
                          if (!sql.got_data()) return std::nullopt;
                          return user_key(*raw, sql, user).key;
                        });
  });
}

}  // namespace detail

EncryptionStatus Encryption::status() {
  return detail::with_session(*db_, "reading the encryption status", [&](soci::session& sql) {
    EncryptionStatus s;
    std::string created;
    std::string rotated;
    soci::indicator rotated_ind = soci::i_null;
    sql << "SELECT kdf, " + detail::time_column(*db_, "created_at") + ", " +
               detail::time_column(*db_, "rotated_at") + " FROM encryption_master WHERE id = 1",
        soci::into(s.key_kind), soci::into(created), soci::into(rotated, rotated_ind);
    if (!sql.got_data()) throw Error(ErrorKind::corrupt_file, "the database has no master key row");
    s.created_at = detail::read_time(created, "encryption_master.created_at");
    s.rotated_at = detail::read_time(rotated, rotated_ind, "encryption_master.rotated_at");
    if (s.key_kind == "file") s.key_file = detail::master_key_file().string();
    long long n = 0;
    sql << "SELECT COUNT(*) FROM user_keys", soci::into(n);
    s.user_keys = n;
    return s;
  });
}

void Encryption::rotate(const std::string& new_passphrase) {
  const fs::path file = detail::master_key_file();
  const fs::path pending = file.string() + ".new";
  crypto::Key master;
  std::string kdf = "file", salt;
  if (!new_passphrase.empty()) {
    const std::string raw_salt = crypto::random_salt();
    master = crypto::key_from_passphrase(new_passphrase, raw_salt);
    kdf = "argon2id";
    salt = crypto::to_base64(raw_salt);
  } else {
    master = crypto::random_key();
    std::error_code ec;
    fs::remove(pending, ec);  // a rotation that stopped before its commit
    crypto::write_key_file(pending, master);
  }
  try {
    detail::in_transaction(*db_, "rotating the master key", [&](soci::session& sql) {
      // The current key, checked: rotating needs the data keys open.
      detail::load_master(*db_, sql, false);
      std::vector<long long> users;
      {
        long long u = 0;
        soci::statement st = (sql.prepare << "SELECT user_id FROM user_keys", soci::into(u));
        st.execute();
        while (st.fetch()) users.push_back(u);
      }
      for (long long u : users) {
        std::optional<crypto::DataKey> key = detail::stored_user_key(*db_, sql, u);
        const std::string wrapped = detail::wrap_user_key(master, u, *key);
        detail::execute(sql, "UPDATE user_keys SET wrapped = :w WHERE user_id = :u",
                        soci::use(wrapped), soci::use(u));
      }
      const std::string check = crypto::seal_text(master, "hearth master key",
                                                  "encryption_master.key_check");
      const std::string at = format_time(now());
      detail::execute(sql,
                      "UPDATE encryption_master SET kdf = :k, salt = :s, key_check = :c, "
                      "rotated_at = :t WHERE id = 1",
                      soci::use(kdf), soci::use(salt), soci::use(check), soci::use(at));
    });
  } catch (...) {
    std::error_code ec;
    fs::remove(pending, ec);
    throw;
  }
  if (kdf == "file") {
    std::error_code ec;
    if (fs::exists(file, ec)) fs::rename(file, file.string() + ".old", ec);
    fs::rename(pending, file, ec);
    if (ec)
      throw Error(ErrorKind::io, "the new master key is in " + pending.string() +
                                     " but could not be moved to " + file.string() + ": " +
                                     ec.message());
  }
  std::lock_guard lock(db_->keys->mutex);
  db_->keys->master = master;
  db_->keys->users.clear();
}

}  // namespace hearth::db
