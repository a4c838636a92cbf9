// PersonalModels: the models a user chose, their download state and their fine-tune lineage.
#include <array>
#include <cmath>

#include "db/internal.h"

namespace hearth::db {
namespace {

constexpr std::array<std::string_view, 5> kStatusNames = {"pending", "downloading", "verifying",
                                                          "installed", "failed"};

struct ModelRow {
  long long id = 0, user_id = 0, usage_count = 0;
  std::string model_id, custom_name, status, local_path, last_training_date, created_at, updated_at;
  double download_progress = 0, model_size_gb = 0, performance_score = 0;
  int fine_tuned = 0, fine_tune_version = 0;
  soci::indicator training_ind = soci::i_ok, score_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(model_id));
    st.exchange(soci::into(custom_name));
    st.exchange(soci::into(status));
    st.exchange(soci::into(download_progress));
    st.exchange(soci::into(local_path));
    st.exchange(soci::into(fine_tuned));
    st.exchange(soci::into(fine_tune_version));
    st.exchange(soci::into(last_training_date, training_ind));
    st.exchange(soci::into(model_size_gb));
    st.exchange(soci::into(performance_score, score_ind));
    st.exchange(soci::into(usage_count));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(updated_at));
  }

  PersonalModel get() const {
    PersonalModel m;
    m.id = id;
    m.user_id = user_id;
    m.model_id = model_id;
    m.custom_name = custom_name;
    m.status = model_status_from(status);
    m.download_progress = download_progress;
    m.local_path = local_path;
    m.fine_tuned = fine_tuned != 0;
    m.fine_tune_version = fine_tune_version;
    m.last_training_date = detail::read_time(last_training_date, training_ind,
                                             "user_personal_models.last_training_date");
    m.model_size_gb = model_size_gb;
    if (score_ind != soci::i_null) m.performance_score = performance_score;
    m.usage_count = usage_count;
    m.created_at = detail::read_time(created_at, "user_personal_models.created_at");
    m.updated_at = detail::read_time(updated_at, "user_personal_models.updated_at");
    return m;
  }
};

std::string select_list(const Database::Impl& db) {
  using detail::time_column;
  return "SELECT id, user_id, model_id, custom_name, status, download_progress, local_path, "
         "fine_tuned, fine_tune_version, " +
         time_column(db, "last_training_date") +
         ", model_size_gb, performance_score, usage_count, " + time_column(db, "created_at") +
         ", " + time_column(db, "updated_at") + " FROM user_personal_models ";
}

std::string label(std::int64_t id) {
  return "personal model " + std::to_string(id);
}

[[noreturn]] void throw_missing(std::int64_t id) {
  throw Error(ErrorKind::not_found, label(id) + " does not exist");
}

// The current status, read inside the caller's transaction; Error(not_found) when no such row.
ModelStatus current_status(soci::session& sql, long long id) {
  std::string status;
  soci::statement st = (sql.prepare << "SELECT status FROM user_personal_models WHERE id = :id",
                        soci::into(status), soci::use(id));
  if (!st.execute(true)) throw_missing(id);
  return model_status_from(status);
}

// Runs an UPDATE on one model by id (the last bound value must be the id); Error(not_found)
// when it changed nothing.
template <class... Uses>
void update_one(Database::Impl& db, std::int64_t id, std::string_view doing,
                const std::string& query, Uses&&... uses) {
  long long changed = detail::with_session(
      db, label(id) + ": " + std::string(doing),
      [&](soci::session& sql) { return detail::execute(sql, query, uses...); });
  if (changed == 0) throw_missing(id);
}

}  // namespace

std::string_view to_string(ModelStatus s) {
  return kStatusNames.at(static_cast<std::size_t>(s));
}

ModelStatus model_status_from(std::string_view text) {
  for (std::size_t i = 0; i < kStatusNames.size(); ++i)
    if (kStatusNames[i] == text) return static_cast<ModelStatus>(i);
  throw Error(ErrorKind::corrupt_file, "database: unknown personal model status '" +
                                           std::string(text) +
                                           "' (a newer hearth may have written it)");
}

bool can_change(ModelStatus from, ModelStatus to) {
  using S = ModelStatus;
  switch (to) {
    case S::downloading:
      return from == S::pending;
    case S::verifying:
      return from == S::downloading;
    case S::installed:
      return from == S::verifying;
    case S::failed:
      return from == S::pending || from == S::downloading || from == S::verifying;
    case S::pending:
      return from == S::failed;
  }
  return false;
}

PersonalModel PersonalModels::add(const NewPersonalModel& m) {
  if (m.model_id.empty())
    throw Error(ErrorKind::invalid_input, "a personal model needs a model id");
  if (!(m.model_size_gb >= 0))
    throw Error(ErrorKind::invalid_input, "model size must be zero or more gigabytes");
  const std::string& name = m.custom_name.empty() ? m.model_id : m.custom_name;
  std::string stamp = format_time(now());
  std::string status(to_string(ModelStatus::pending));
  long long user_id = m.user_id;
  int fine_tuned = m.fine_tuned ? 1 : 0;
  long long id =
      detail::with_session(*db_, "adding personal model '" + name + "'", [&](soci::session& sql) {
        long long new_id = 0;
        sql << "INSERT INTO user_personal_models (user_id, model_id, custom_name, status, "
               "download_progress, local_path, fine_tuned, fine_tune_version, model_size_gb, "
               "usage_count, created_at, updated_at) "
               "VALUES (:u, :m, :n, :s, 0, :p, :f, :v, :g, 0, :c, :c2) RETURNING id",
            soci::use(user_id), soci::use(m.model_id), soci::use(name), soci::use(status),
            soci::use(m.local_path), soci::use(fine_tuned), soci::use(m.fine_tune_version),
            soci::use(m.model_size_gb), soci::use(stamp), soci::use(stamp), soci::into(new_id);
        return new_id;
      });
  auto added = find(id);
  HEARTH_ASSERT(added.has_value(), "a personal model vanished right after it was added");
  return *added;
}

std::optional<PersonalModel> PersonalModels::find(std::int64_t id) {
  long long key = id;
  auto rows = detail::with_session(*db_, "finding " + label(id), [&](soci::session& sql) {
    return detail::query_rows<ModelRow>(sql, select_list(*db_) + "WHERE id = :id", soci::use(key));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<PersonalModel> PersonalModels::find_by_name(std::int64_t user_id,
                                                          const std::string& custom_name) {
  long long user = user_id;
  auto rows = detail::with_session(
      *db_, "finding personal model '" + custom_name + "'", [&](soci::session& sql) {
        return detail::query_rows<ModelRow>(
            sql, select_list(*db_) + "WHERE user_id = :u AND custom_name = :n", soci::use(user),
            soci::use(custom_name));
      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<PersonalModel> PersonalModels::list_for_user(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing personal models", [&](soci::session& sql) {
    return detail::query_rows<ModelRow>(sql, select_list(*db_) + "WHERE user_id = :u ORDER BY id",
                                        soci::use(user));
  });
}

void PersonalModels::set_status(std::int64_t id, ModelStatus status,
                                std::optional<double> progress) {
  if (progress) detail::check_percent(*progress, label(id));
  long long key = id;
  std::string to(to_string(status));
  detail::in_transaction(*db_, label(id) + ": setting status " + to, [&](soci::session& sql) {
    ModelStatus from = current_status(sql, key);
    if (!can_change(from, status))
      throw Error(ErrorKind::conflict, label(id) + " cannot go from " +
                                           std::string(to_string(from)) + " to " + to +
                                           " (pending → downloading → verifying → installed; "
                                           "failed from any unfinished state; failed → pending)");
    std::string from_text(to_string(from));
    std::string stamp = format_time(now());
    // The status in the WHERE clause makes a concurrent change (PostgreSQL) a conflict too.
    std::string query = "UPDATE user_personal_models SET status = :s, updated_at = :t";
    double percent = status == ModelStatus::installed ? 100.0
                     : status == ModelStatus::pending ? 0.0
                                                      : progress.value_or(0);
    bool set_percent =
        status == ModelStatus::installed || status == ModelStatus::pending || progress.has_value();
    long long changed =
        set_percent ? detail::execute(
                          sql, query + ", download_progress = :p WHERE id = :id AND status = :f",
                          soci::use(to), soci::use(stamp), soci::use(percent), soci::use(key),
                          soci::use(from_text))
                    : detail::execute(sql, query + " WHERE id = :id AND status = :f", soci::use(to),
                                      soci::use(stamp), soci::use(key), soci::use(from_text));
    if (changed == 0)
      throw Error(ErrorKind::conflict, label(id) + " changed status while being set to " + to);
  });
}

void PersonalModels::set_progress(std::int64_t id, double percent) {
  detail::check_percent(percent, label(id));
  long long key = id;
  std::string stamp = format_time(now());
  std::string downloading(to_string(ModelStatus::downloading));
  detail::in_transaction(*db_, label(id) + ": setting progress", [&](soci::session& sql) {
    ModelStatus from = current_status(sql, key);
    if (from != ModelStatus::downloading)
      throw Error(ErrorKind::conflict, label(id) + " is " + std::string(to_string(from)) +
                                           ", not downloading: its progress cannot change");
    detail::execute(sql,
                    "UPDATE user_personal_models SET download_progress = :p, updated_at = :t "
                    "WHERE id = :id AND status = :s",
                    soci::use(percent), soci::use(stamp), soci::use(key), soci::use(downloading));
  });
}

void PersonalModels::set_local_path(std::int64_t id, const std::string& path) {
  long long key = id;
  std::string stamp = format_time(now());
  update_one(*db_, id, "setting its local path",
             "UPDATE user_personal_models SET local_path = :p, updated_at = :t WHERE id = :id",
             soci::use(path), soci::use(stamp), soci::use(key));
}

void PersonalModels::set_size(std::int64_t id, double size_gb) {
  long long key = id;
  std::string stamp = format_time(now());
  update_one(*db_, id, "setting its size",
             "UPDATE user_personal_models SET model_size_gb = :s, updated_at = :t WHERE id = :id",
             soci::use(size_gb), soci::use(stamp), soci::use(key));
}

void PersonalModels::rename(std::int64_t id, const std::string& custom_name) {
  if (custom_name.empty()) throw Error(ErrorKind::invalid_input, "a model's name cannot be empty");
  long long key = id;
  std::string stamp = format_time(now());
  update_one(*db_, id, "renaming it to '" + custom_name + "'",
             "UPDATE user_personal_models SET custom_name = :n, updated_at = :t WHERE id = :id",
             soci::use(custom_name), soci::use(stamp), soci::use(key));
}

void PersonalModels::record_training(std::int64_t id, int version, Timestamp when,
                                     std::optional<double> performance_score) {
  long long key = id;
  std::string stamp = format_time(now());
  std::string trained = format_time(when);
  double score = performance_score.value_or(0);
  soci::indicator score_ind = performance_score ? soci::i_ok : soci::i_null;
  update_one(*db_, id, "recording a fine-tune",
             "UPDATE user_personal_models SET fine_tuned = 1, fine_tune_version = :v, "
             "last_training_date = :d, performance_score = :s, updated_at = :t WHERE id = :id",
             soci::use(version), soci::use(trained), soci::use(score, score_ind), soci::use(stamp),
             soci::use(key));
}

void PersonalModels::set_performance_score(std::int64_t id, double score) {
  if (!std::isfinite(score) || score < 0)
    throw Error(ErrorKind::invalid_input, "a performance score must be a finite number >= 0");
  long long key = id;
  std::string stamp = format_time(now());
  update_one(*db_, id, "storing the performance score",
             "UPDATE user_personal_models SET performance_score = :s, updated_at = :t WHERE id = :id",
             soci::use(score), soci::use(stamp), soci::use(key));
}

void PersonalModels::record_usage(std::int64_t id) {
  long long key = id;
  update_one(*db_, id, "recording a use",
             "UPDATE user_personal_models SET usage_count = usage_count + 1 WHERE id = :id",
             soci::use(key));
}

bool PersonalModels::remove(std::int64_t id) {
  long long key = id;
  return detail::with_session(*db_, "removing " + label(id), [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM user_personal_models WHERE id = :id", soci::use(key)) >
           0;
  });
}

}  // namespace hearth::db
