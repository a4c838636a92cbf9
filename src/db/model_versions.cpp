// ModelVersions: a personal model's fine-tuned versions, deploy and rollback (training.h).
#include "db/internal.h"
#include "db/sealing.h"
#include "db/training.h"

namespace hearth::db {
namespace {

struct VersionRow {
  long long id = 0, personal_model_id = 0, user_id = 0, job_id = 0, dataset_version_id = 0;
  int version = 0, previous_version = 0;
  std::string adapter_path, adapter_digest, base_model, base_digest, dataset_hash,
      hyperparameters, eval_results, remote_base_url, remote_model, created_at;
  soci::indicator job_ind = soci::i_ok, dataset_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(personal_model_id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(version));
    st.exchange(soci::into(job_id, job_ind));
    st.exchange(soci::into(adapter_path));
    st.exchange(soci::into(adapter_digest));
    st.exchange(soci::into(base_model));
    st.exchange(soci::into(base_digest));
    st.exchange(soci::into(dataset_version_id, dataset_ind));
    st.exchange(soci::into(dataset_hash));
    st.exchange(soci::into(hyperparameters));
    st.exchange(soci::into(eval_results));
    st.exchange(soci::into(remote_base_url));
    st.exchange(soci::into(remote_model));
    st.exchange(soci::into(previous_version));
    st.exchange(soci::into(created_at));
  }

  ModelVersion get() const {
    ModelVersion v;
    v.id = id;
    v.personal_model_id = personal_model_id;
    v.user_id = user_id;
    v.version = version;
    if (job_ind == soci::i_ok) v.job_id = job_id;
    v.adapter_path = adapter_path;
    v.adapter_digest = adapter_digest;
    v.base_model = base_model;
    v.base_digest = base_digest;
    if (dataset_ind == soci::i_ok) v.dataset_version_id = dataset_version_id;
    v.dataset_hash = dataset_hash;
    v.hyperparameters = hyperparameters;
    v.eval_results = eval_results;
    v.remote_base_url = remote_base_url;
    v.remote_model = remote_model;
    v.previous_version = previous_version;
    v.created_at = detail::read_time(created_at, "personal_model_versions.created_at");
    return v;
  }
};

std::string select_list(const Database::Impl& db) {
  return "SELECT id, personal_model_id, user_id, version, job_id, adapter_path, adapter_digest, "
         "base_model, base_digest, dataset_version_id, dataset_hash, " +
         detail::json_column(db, "hyperparameters") + ", " +
         detail::json_column(db, "eval_results") +
         ", remote_base_url, remote_model, previous_version, " +
         detail::time_column(db, "created_at") + " FROM personal_model_versions ";
}

// Evaluation answers are stored sealed (db/sealing.h).
std::vector<ModelVersion> opened(Database::Impl& db, soci::session& sql,
                                 std::vector<ModelVersion> list) {
  for (ModelVersion& v : list)
    v.eval_results = detail::open_json(db, sql, v.user_id, v.eval_results,
                                       "personal_model_versions.eval_results");
  return list;
}

// The personal model's owner and the version it serves; Error(not_found) when there is none.
std::pair<long long, int> owner_and_version(soci::session& sql, long long model) {
  long long owner = 0;
  int served = 0;
  soci::statement st = (sql.prepare << "SELECT user_id, fine_tune_version FROM "
                                       "user_personal_models WHERE id = :m",
                        soci::into(owner), soci::into(served), soci::use(model));
  if (!st.execute(true))
    throw Error(ErrorKind::not_found, "personal model " + std::to_string(model) + " does not exist");
  return {owner, served};
}

void serve_version(soci::session& sql, long long model, int version, const std::string& stamp) {
  int tuned = version > 0 ? 1 : 0;
  detail::execute(sql,
                  "UPDATE user_personal_models SET fine_tuned = :f, fine_tune_version = :v, "
                  "updated_at = :t WHERE id = :id",
                  soci::use(tuned), soci::use(version), soci::use(stamp), soci::use(model));
}

}  // namespace

ModelVersion ModelVersions::deploy(const ModelVersion& v) {
  long long model = v.personal_model_id, user = v.user_id;
  long long job = v.job_id.value_or(0), dataset = v.dataset_version_id.value_or(0);
  soci::indicator job_ind = v.job_id ? soci::i_ok : soci::i_null;
  soci::indicator dataset_ind = v.dataset_version_id ? soci::i_ok : soci::i_null;
  const std::string stamp = format_time(now());
  int version = detail::in_transaction(*db_, "deploying a model version", [&](soci::session& sql) {
    const int served = detail::check_model_owner(sql, model, user);
    int highest = 0;
    soci::indicator ind = soci::i_ok;
    sql << "SELECT MAX(version) FROM personal_model_versions WHERE personal_model_id = :m",
        soci::into(highest, ind), soci::use(model);
    const int next = (ind == soci::i_ok ? highest : 0) + 1;
    const std::string eval =
        detail::seal_json(*db_, sql, v.user_id, v.eval_results, "personal_model_versions.eval_results");
    detail::execute(
        sql,
        "INSERT INTO personal_model_versions (personal_model_id, user_id, version, job_id, "
        "adapter_path, adapter_digest, base_model, base_digest, dataset_version_id, dataset_hash, "
        "hyperparameters, eval_results, remote_base_url, remote_model, previous_version, "
        "created_at) VALUES (:m, :u, :v, :j, :ap, :ad, :bm, :bd, :dv, :dh, :h, :e, :rb, :rm, :p, "
        ":c)",
        soci::use(model), soci::use(user), soci::use(next), soci::use(job, job_ind),
        soci::use(v.adapter_path), soci::use(v.adapter_digest), soci::use(v.base_model),
        soci::use(v.base_digest), soci::use(dataset, dataset_ind), soci::use(v.dataset_hash),
        soci::use(v.hyperparameters), soci::use(eval), soci::use(v.remote_base_url),
        soci::use(v.remote_model), soci::use(served), soci::use(stamp));
    // The job becomes this version once: a second deploy of it (a double click) is refused.
    if (v.job_id &&
        detail::execute(sql,
                        "UPDATE personal_model_training_jobs SET deployed_version = :v "
                        "WHERE id = :j AND deployed_version IS NULL",
                        soci::use(next), soci::use(job)) == 0)
      throw Error(ErrorKind::conflict,
                  "training job " + std::to_string(job) + " is deployed already");
    serve_version(sql, model, next, stamp);
    detail::execute(sql,
                    "UPDATE user_personal_models SET last_training_date = :t WHERE id = :id",
                    soci::use(stamp), soci::use(model));
    return next;
  });
  auto row = find(v.personal_model_id, version);
  HEARTH_ASSERT(row.has_value(), "a deployed version vanished");
  return *row;
}

int ModelVersions::rollback(std::int64_t personal_model_id) {
  long long model = personal_model_id;
  const std::string stamp = format_time(now());
  return detail::in_transaction(*db_, "rolling back a model version", [&](soci::session& sql) {
    auto [owner, served] = owner_and_version(sql, model);
    (void)owner;
    if (served == 0)
      throw Error(ErrorKind::conflict, "personal model " + std::to_string(model) +
                                           " already serves its base model: nothing to roll back");
    int previous = 0;
    soci::statement st =
        (sql.prepare << "SELECT previous_version FROM personal_model_versions WHERE "
                        "personal_model_id = :m AND version = :v",
         soci::into(previous), soci::use(model), soci::use(served));
    if (!st.execute(true)) previous = 0;  // the served version's row is gone: back to the base
    serve_version(sql, model, previous, stamp);
    return previous;
  });
}

std::optional<ModelVersion> ModelVersions::find(std::int64_t personal_model_id, int version) {
  long long model = personal_model_id;
  auto rows = detail::with_session(*db_, "finding a model version", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<VersionRow>(
        sql, select_list(*db_) + "WHERE personal_model_id = :m AND version = :v",
        soci::use(model), soci::use(version)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<ModelVersion> ModelVersions::list(std::int64_t personal_model_id) {
  long long model = personal_model_id;
  return detail::with_session(*db_, "listing model versions", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<VersionRow>(
        sql, select_list(*db_) + "WHERE personal_model_id = :m ORDER BY version", soci::use(model)));
  });
}

}  // namespace hearth::db
