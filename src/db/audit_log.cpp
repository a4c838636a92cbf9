// AuditLog: an append-only record of who did what: changes to who may do what, model use and
// training (see cli/audit.cpp for the actions).
#include <algorithm>

#include "db/internal.h"

namespace hearth::db {
namespace {

struct EntryRow {
  long long id = 0, user_id = 0;
  std::string username, action, target, detail, created_at;
  soci::indicator user_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id, user_ind));
    st.exchange(soci::into(username));
    st.exchange(soci::into(action));
    st.exchange(soci::into(target));
    st.exchange(soci::into(detail));
    st.exchange(soci::into(created_at));
  }
  AuditEntry get() const {
    AuditEntry e;
    e.id = id;
    if (user_ind != soci::i_null) e.user_id = user_id;
    e.username = username;
    e.action = action;
    e.target = target;
    e.detail = detail;
    e.created_at = detail::read_time(created_at, "audit_log.created_at");
    return e;
  }
};

// The user's current name comes from a join, so a renamed or removed user shows as they are now.
std::string select_list(const Database::Impl& db) {
  return "SELECT a.id, a.user_id, COALESCE(u.username, ''), a.action, a.target, " +
         detail::json_column(db, "a.detail") + ", " + detail::time_column(db, "a.created_at") +
         " FROM audit_log a LEFT JOIN users u ON u.id = a.user_id ";
}

}  // namespace

AuditEntry AuditLog::record(std::optional<std::int64_t> user_id, const std::string& action,
                            const std::string& target, const std::string& detail_json) {
  if (action.empty()) throw Error(ErrorKind::invalid_input, "an audit entry needs an action");
  const std::string detail = detail_json.empty() ? "{}" : detail_json;
  std::string stamp = format_time(now());
  long long user = user_id.value_or(0);
  soci::indicator user_ind = user_id ? soci::i_ok : soci::i_null;
  long long id =
      detail::with_session(*db_, "recording audit entry '" + action + "'", [&](soci::session& sql) {
        long long new_id = 0;
        sql << "INSERT INTO audit_log (user_id, action, target, detail, created_at) "
               "VALUES (:u, :a, :t, :d, :c) RETURNING id",
            soci::use(user, user_ind), soci::use(action), soci::use(target), soci::use(detail),
            soci::use(stamp), soci::into(new_id);
        return new_id;
      });
  auto rows = detail::with_session(*db_, "reading audit entry", [&](soci::session& sql) {
    return detail::query_rows<EntryRow>(sql, select_list(*db_) + "WHERE a.id = :id", soci::use(id));
  });
  HEARTH_ASSERT(!rows.empty(), "an audit entry vanished right after it was recorded");
  return rows.front();
}

std::vector<AuditEntry> AuditLog::list(std::optional<std::int64_t> user_id, std::size_t limit) {
  // Ties within one millisecond fall back to insertion order (ids grow).
  const std::string order = " ORDER BY a.created_at DESC, a.id DESC LIMIT :n";
  long long n = static_cast<long long>(std::min<std::size_t>(limit, 1'000'000));
  return detail::with_session(*db_, "listing the audit log", [&](soci::session& sql) {
    if (!user_id) return detail::query_rows<EntryRow>(sql, select_list(*db_) + order, soci::use(n));
    long long user = *user_id;
    return detail::query_rows<EntryRow>(sql, select_list(*db_) + "WHERE a.user_id = :u" + order,
                                        soci::use(user), soci::use(n));
  });
}

}  // namespace hearth::db
