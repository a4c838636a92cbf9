// DesktopConnections: desktops that registered with this hub (hearth agent), one row per
// desktop's stable connection id.
#include <array>

#include "db/internal.h"

namespace hearth::db {
namespace {

constexpr std::array<std::string_view, 2> kStatusNames = {"connected", "disconnected"};

struct ConnectionRow {
  long long id = 0, user_id = 0;
  std::string connection_id, app_version, os_info, hardware_info, connected_at, last_seen, status,
      local_models, name, secret_hash;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(connection_id));
    st.exchange(soci::into(app_version));
    st.exchange(soci::into(os_info));
    st.exchange(soci::into(hardware_info));
    st.exchange(soci::into(connected_at));
    st.exchange(soci::into(last_seen));
    st.exchange(soci::into(status));
    st.exchange(soci::into(local_models));
    st.exchange(soci::into(name));
    st.exchange(soci::into(secret_hash));
  }

  DesktopConnection get() const {
    DesktopConnection c;
    c.id = id;
    c.user_id = user_id;
    c.connection_id = connection_id;
    c.app_version = app_version;
    c.os_info = os_info;
    c.hardware_info = hardware_info;
    c.connected_at = detail::read_time(connected_at, "desktop_app_connections.connected_at");
    c.last_seen = detail::read_time(last_seen, "desktop_app_connections.last_seen");
    c.status = connection_status_from(status);
    c.local_models = local_models;
    c.name = name;
    c.secret_hash = secret_hash;
    return c;
  }
};

std::string select_list(const Database::Impl& db) {
  using detail::json_column;
  using detail::time_column;
  return "SELECT id, user_id, connection_id, app_version, os_info, " +
         json_column(db, "hardware_info") + ", " + time_column(db, "connected_at") + ", " +
         time_column(db, "last_seen") + ", status, " + json_column(db, "local_models") +
         ", name, secret_hash FROM desktop_app_connections ";
}

std::string label(const std::string& connection_id) {
  return "desktop connection '" + connection_id + "'";
}

}  // namespace

std::string_view to_string(ConnectionStatus s) {
  return kStatusNames.at(static_cast<std::size_t>(s));
}

ConnectionStatus connection_status_from(std::string_view text) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i)
    if (kStatusNames[i] == text) return static_cast<ConnectionStatus>(i);
  throw Error(ErrorKind::corrupt_file, "database: unknown desktop connection status '" +
                                           std::string(text) +
                                           "' (a newer hearth may have written it)");
}

DesktopConnection DesktopConnections::upsert(const DesktopHello& hello) {
  if (hello.connection_id.empty())
    throw Error(ErrorKind::invalid_input, "a desktop connection needs a connection id");
  long long user = hello.user_id;
  std::string stamp = format_time(now());
  std::string status(to_string(ConnectionStatus::connected));
  const std::string hardware = hello.hardware_info.empty() ? "{}" : hello.hardware_info;
  const std::string models = hello.local_models.empty() ? "[]" : hello.local_models;
  // One statement on both backends (SQLite ≥ 3.24 and PostgreSQL share ON CONFLICT ... DO
  // UPDATE); the WHERE keeps a connection id from moving to another user.
  long long changed = detail::with_session(
      *db_, "registering " + label(hello.connection_id), [&](soci::session& sql) {
        return detail::execute(
            sql,
            "INSERT INTO desktop_app_connections (user_id, connection_id, app_version, os_info, "
            "hardware_info, connected_at, last_seen, status, local_models) "
            "VALUES (:u, :c, :a, :o, :h, :t, :t2, :s, :l) "
            "ON CONFLICT (connection_id) DO UPDATE SET app_version = excluded.app_version, "
            "os_info = excluded.os_info, hardware_info = excluded.hardware_info, "
            "connected_at = excluded.connected_at, last_seen = excluded.last_seen, "
            "status = excluded.status, local_models = excluded.local_models "
            "WHERE desktop_app_connections.user_id = excluded.user_id",
            soci::use(user), soci::use(hello.connection_id), soci::use(hello.app_version),
            soci::use(hello.os_info), soci::use(hardware), soci::use(stamp), soci::use(stamp),
            soci::use(status), soci::use(models));
      });
  if (changed == 0)
    throw Error(ErrorKind::conflict, label(hello.connection_id) + " belongs to another user");
  auto row = find(hello.connection_id);
  HEARTH_ASSERT(row.has_value(), "a desktop connection vanished right after it was stored");
  return *row;
}

DesktopConnection DesktopConnections::register_agent(std::int64_t user_id,
                                                     const std::string& connection_id,
                                                     const std::string& name,
                                                     const std::string& secret_hash) {
  if (connection_id.empty() || secret_hash.empty())
    throw Error(ErrorKind::invalid_input, "an agent needs an id and a secret");
  long long user = user_id;
  std::string stamp = format_time(now());
  std::string status(to_string(ConnectionStatus::disconnected));
  detail::with_session(*db_, "registering " + label(connection_id), [&](soci::session& sql) {
    detail::execute(sql,
                    "INSERT INTO desktop_app_connections (user_id, connection_id, name, "
                    "secret_hash, connected_at, last_seen, status) "
                    "VALUES (:u, :c, :n, :h, :t, :t2, :s)",
                    soci::use(user), soci::use(connection_id), soci::use(name),
                    soci::use(secret_hash), soci::use(stamp), soci::use(stamp), soci::use(status));
  });
  auto row = find(connection_id);
  HEARTH_ASSERT(row.has_value(), "a desktop agent vanished right after it was registered");
  return *row;
}

bool DesktopConnections::mark_connected(const DesktopHello& hello) {
  long long user = hello.user_id;
  std::string stamp = format_time(now());
  std::string status(to_string(ConnectionStatus::connected));
  const std::string hardware = hello.hardware_info.empty() ? "{}" : hello.hardware_info;
  const std::string models = hello.local_models.empty() ? "[]" : hello.local_models;
  long long changed = detail::with_session(
      *db_, "refreshing " + label(hello.connection_id), [&](soci::session& sql) {
        return detail::execute(
            sql,
            "UPDATE desktop_app_connections SET app_version = :a, os_info = :o, "
            "hardware_info = :h, connected_at = :t, last_seen = :t2, status = :s, "
            "local_models = :l WHERE connection_id = :c AND user_id = :u",
            soci::use(hello.app_version), soci::use(hello.os_info), soci::use(hardware),
            soci::use(stamp), soci::use(stamp), soci::use(status), soci::use(models),
            soci::use(hello.connection_id), soci::use(user));
      });
  return changed > 0;
}

bool DesktopConnections::remove(std::int64_t user_id, const std::string& connection_id) {
  long long user = user_id;
  long long changed =
      detail::with_session(*db_, "removing " + label(connection_id), [&](soci::session& sql) {
        return detail::execute(
            sql, "DELETE FROM desktop_app_connections WHERE user_id = :u AND connection_id = :c",
            soci::use(user), soci::use(connection_id));
      });
  return changed > 0;
}

std::optional<DesktopConnection> DesktopConnections::find(const std::string& connection_id) {
  auto rows =
      detail::with_session(*db_, "finding " + label(connection_id), [&](soci::session& sql) {
        return detail::query_rows<ConnectionRow>(
            sql, select_list(*db_) + "WHERE connection_id = :c", soci::use(connection_id));
      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void DesktopConnections::touch(const std::string& connection_id,
                               const std::string& local_models_json) {
  std::string stamp = format_time(now());
  std::string status(to_string(ConnectionStatus::connected));
  long long changed =
      detail::with_session(*db_, "refreshing " + label(connection_id), [&](soci::session& sql) {
        std::string query = "UPDATE desktop_app_connections SET last_seen = :t, status = :s";
        if (local_models_json.empty())
          return detail::execute(sql, query + " WHERE connection_id = :c", soci::use(stamp),
                                 soci::use(status), soci::use(connection_id));
        return detail::execute(sql, query + ", local_models = :l WHERE connection_id = :c",
                               soci::use(stamp), soci::use(status), soci::use(local_models_json),
                               soci::use(connection_id));
      });
  if (changed == 0) throw Error(ErrorKind::not_found, label(connection_id) + " does not exist");
}

void DesktopConnections::mark_disconnected(const std::string& connection_id) {
  std::string stamp = format_time(now());
  std::string status(to_string(ConnectionStatus::disconnected));
  long long changed =
      detail::with_session(*db_, "disconnecting " + label(connection_id), [&](soci::session& sql) {
        return detail::execute(sql,
                               "UPDATE desktop_app_connections SET status = :s, last_seen = :t "
                               "WHERE connection_id = :c",
                               soci::use(status), soci::use(stamp), soci::use(connection_id));
      });
  if (changed == 0) throw Error(ErrorKind::not_found, label(connection_id) + " does not exist");
}

std::vector<DesktopConnection> DesktopConnections::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing desktop connections", [&](soci::session& sql) {
    return detail::query_rows<ConnectionRow>(
        sql, select_list(*db_) + "WHERE user_id = :u ORDER BY last_seen DESC, id DESC",
        soci::use(user));
  });
}

}  // namespace hearth::db
