// RemoteTrainers: a user's OpenAI-compatible fine-tuning API (training.h).
#include "db/internal.h"
#include "db/training.h"

namespace hearth::db {
namespace {

struct RemoteRow {
  long long user_id = 0;
  std::string base_url, sealed_key, updated_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(base_url));
    st.exchange(soci::into(sealed_key));
    st.exchange(soci::into(updated_at));
  }
  RemoteTrainer get() const {
    return {user_id, base_url, sealed_key,
            detail::read_time(updated_at, "user_remote_trainers.updated_at")};
  }
};

}  // namespace

RemoteTrainer RemoteTrainers::put(std::int64_t user_id, const std::string& base_url,
                                  const std::string& sealed_key) {
  long long user = user_id;
  const std::string stamp = format_time(now());
  detail::with_session(*db_, "storing remote trainer settings", [&](soci::session& sql) {
    sql << "INSERT INTO user_remote_trainers (user_id, base_url, sealed_key, updated_at) "
           "VALUES (:u, :b, :k, :t) ON CONFLICT (user_id) DO UPDATE SET "
           "base_url = excluded.base_url, sealed_key = excluded.sealed_key, "
           "updated_at = excluded.updated_at",
        soci::use(user), soci::use(base_url), soci::use(sealed_key), soci::use(stamp);
  });
  return {user_id, base_url, sealed_key, parse_time(stamp)};
}

std::optional<RemoteTrainer> RemoteTrainers::find(std::int64_t user_id) {
  long long user = user_id;
  auto rows =
      detail::with_session(*db_, "reading remote trainer settings", [&](soci::session& sql) {
        return detail::query_rows<RemoteRow>(sql,
                                             "SELECT user_id, base_url, sealed_key, " +
                                                 detail::time_column(*db_, "updated_at") +
                                                 " FROM user_remote_trainers WHERE user_id = :u",
                                             soci::use(user));
      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

bool RemoteTrainers::remove(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "removing remote trainer settings", [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM user_remote_trainers WHERE user_id = :u",
                           soci::use(user)) > 0;
  });
}

}  // namespace hearth::db
