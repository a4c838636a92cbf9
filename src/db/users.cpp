// Users: accounts that own personal models, training jobs and desktop connections.
#include "db/internal.h"

namespace hearth::db {
namespace {

// One row's columns as read, in the order of select_list().
struct UserRow {
  long long id = 0;
  std::string username, email, password_hash, created_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(username));
    st.exchange(soci::into(email));
    st.exchange(soci::into(password_hash));
    st.exchange(soci::into(created_at));
  }
  User get() const {
    return {id, username, email, password_hash, detail::read_time(created_at, "users.created_at")};
  }
};

std::string select_list(const Database::Impl& db) {
  return "SELECT id, username, email, password_hash, " + detail::time_column(db, "created_at") +
         " FROM users ";
}

template <class T>
std::optional<User> find_one(Database::Impl& db, const char* where, const T& key) {
  auto rows = detail::with_session(db, "finding a user", [&](soci::session& sql) {
    return detail::query_rows<UserRow>(sql, select_list(db) + where, soci::use(key));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

}  // namespace

User Users::create(const std::string& username, const std::string& email,
                   const std::string& password_hash) {
  if (username.empty()) throw Error(ErrorKind::invalid_input, "a user needs a name");
  std::string created = format_time(now());
  long long id =
      detail::with_session(*db_, "creating user '" + username + "'", [&](soci::session& sql) {
        long long new_id = 0;
        sql << "INSERT INTO users (username, email, password_hash, "
               "created_at) VALUES (:u, :e, :p, :c) RETURNING id",
            soci::use(username), soci::use(email), soci::use(password_hash), soci::use(created),
            soci::into(new_id);
        return new_id;
      });
  return {id, username, email, password_hash, parse_time(created)};
}

std::optional<User> Users::find(std::int64_t id) {
  long long key = id;
  return find_one(*db_, "WHERE id = :id", key);
}

std::optional<User> Users::find_by_name(const std::string& username) {
  return find_one(*db_, "WHERE username = :u", username);
}

std::vector<User> Users::list() {
  return detail::with_session(*db_, "listing users", [&](soci::session& sql) {
    return detail::query_rows<UserRow>(sql, select_list(*db_) + "ORDER BY id");
  });
}

std::int64_t Users::count_named() {
  return detail::with_session(*db_, "counting users", [&](soci::session& sql) {
    long long n = 0;
    sql << "SELECT COUNT(*) FROM users WHERE username <> 'local'", soci::into(n);
    return static_cast<std::int64_t>(n);
  });
}

bool Users::remove(std::int64_t id) {
  long long key = id;
  return detail::with_session(*db_, "removing user " + std::to_string(id), [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM users WHERE id = :id", soci::use(key)) > 0;
  });
}

}  // namespace hearth::db
