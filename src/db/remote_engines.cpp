// RemoteEngineRows: the owner's remote engines (remote_engines.h).
#include "db/remote_engines.h"

#include <boost/json.hpp>

#include "core/json_text.h"

#include "db/internal.h"

namespace hearth::db {
namespace {

namespace json = boost::json;

std::string models_json(const std::vector<std::string>& models) {
  json::array a;
  for (const auto& m : models) a.emplace_back(m);
  return format_json(a);
}

std::vector<std::string> models_from(const std::string& text) {
  std::vector<std::string> out;
  const auto v = parse_json(text);
  if (!v || !v->is_array())
    throw Error(ErrorKind::corrupt_file,
                "database: column remote_engines.models is not a JSON array");
  for (const auto& m : v->as_array())
    if (m.is_string()) out.emplace_back(m.as_string());
  return out;
}

struct EngineRow {
  long long id = 0, user_id = 0;
  std::string name, base_url, sealed_key, models, created_at;
  soci::indicator user_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(name));
    st.exchange(soci::into(base_url));
    st.exchange(soci::into(sealed_key));
    st.exchange(soci::into(models));
    st.exchange(soci::into(user_id, user_ind));
    st.exchange(soci::into(created_at));
  }
  RemoteEngineRow get() const {
    RemoteEngineRow r;
    r.id = id;
    r.name = name;
    r.base_url = base_url;
    r.sealed_key = sealed_key;
    r.models = models_from(models);
    if (user_ind != soci::i_null) r.user_id = user_id;
    r.created_at = detail::read_time(created_at, "remote_engines.created_at");
    return r;
  }
};

std::string select_list(const Database::Impl& db) {
  return "SELECT id, name, base_url, sealed_key, " + detail::json_column(db, "models") +
         ", user_id, " + detail::time_column(db, "created_at") + " FROM remote_engines ";
}

}  // namespace

RemoteEngineRow RemoteEngineRows::add(const NewRemoteEngine& engine) {
  if (engine.name.empty()) throw Error(ErrorKind::invalid_input, "a remote engine needs a name");
  if (engine.base_url.empty())
    throw Error(ErrorKind::invalid_input, "remote engine '" + engine.name + "' needs a base URL");
  const std::string models = models_json(engine.models);
  const std::string stamp = format_time(now());
  long long user = engine.user_id.value_or(0);
  soci::indicator user_ind = engine.user_id ? soci::i_ok : soci::i_null;
  detail::with_session(*db_, "adding remote engine '" + engine.name + "'", [&](soci::session& sql) {
    long long id = 0;
    sql << "INSERT INTO remote_engines (name, base_url, sealed_key, models, user_id, created_at) "
           "VALUES (:n, :b, :k, :m, :u, :t) RETURNING id",
        soci::use(engine.name), soci::use(engine.base_url), soci::use(engine.sealed_key),
        soci::use(models), soci::use(user, user_ind), soci::use(stamp), soci::into(id);
    return id;
  });
  auto row = find(engine.name);
  HEARTH_ASSERT(row.has_value(), "a remote engine vanished right after it was added");
  return *row;
}

std::vector<RemoteEngineRow> RemoteEngineRows::list() {
  return detail::with_session(*db_, "listing remote engines", [&](soci::session& sql) {
    return detail::query_rows<EngineRow>(sql, select_list(*db_) + "ORDER BY name");
  });
}

std::optional<RemoteEngineRow> RemoteEngineRows::find(const std::string& name) {
  auto rows = detail::with_session(*db_, "reading remote engine '" + name + "'",
                                   [&](soci::session& sql) {
                                     return detail::query_rows<EngineRow>(
                                         sql, select_list(*db_) + "WHERE name = :n",
                                         soci::use(name));
                                   });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

bool RemoteEngineRows::remove(const std::string& name) {
  return detail::with_session(*db_, "removing remote engine '" + name + "'",
                              [&](soci::session& sql) {
                                return detail::execute(sql,
                                                       "DELETE FROM remote_engines WHERE name = :n",
                                                       soci::use(name)) > 0;
                              });
}

}  // namespace hearth::db
