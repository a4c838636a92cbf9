// ModelUsage: per-user, per-model request and token totals, kept by the server after each
// request (and mirrored into the personal model's usage_count).
#include "db/internal.h"

namespace hearth::db {
namespace {

struct UsageRow {
  long long user_id = 0, requests = 0, prompt_tokens = 0, completion_tokens = 0, eval_ns = 0;
  std::string model, last_used_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(model));
    st.exchange(soci::into(requests));
    st.exchange(soci::into(prompt_tokens));
    st.exchange(soci::into(completion_tokens));
    st.exchange(soci::into(eval_ns));
    st.exchange(soci::into(last_used_at));
  }
  ModelUsageTotals get() const {
    return {user_id,
            model,
            requests,
            prompt_tokens,
            completion_tokens,
            eval_ns,
            detail::read_time(last_used_at, "model_usage.last_used_at")};
  }
};

std::string select_list(const Database::Impl& db) {
  return "SELECT user_id, model, requests, prompt_tokens, completion_tokens, eval_ns, " +
         detail::time_column(db, "last_used_at") + " FROM model_usage ";
}

}  // namespace

void ModelUsage::record(std::int64_t user_id, const std::string& model, std::int64_t prompt_tokens,
                        std::int64_t completion_tokens, std::int64_t eval_ns) {
  if (model.empty()) throw Error(ErrorKind::invalid_input, "model usage needs a model name");
  if (prompt_tokens < 0 || completion_tokens < 0 || eval_ns < 0)
    throw Error(ErrorKind::invalid_input, "model usage: token counts and time cannot be negative");
  long long user = user_id, prompt = prompt_tokens, completion = completion_tokens, ns = eval_ns;
  std::string stamp = format_time(now());
  detail::in_transaction(*db_, "recording usage of '" + model + "'", [&](soci::session& sql) {
    // One statement on both backends (see DesktopConnections::upsert).
    detail::execute(sql,
                    "INSERT INTO model_usage (user_id, model, requests, prompt_tokens, "
                    "completion_tokens, eval_ns, last_used_at) VALUES (:u, :m, 1, :p, :c, :e, :t) "
                    "ON CONFLICT (user_id, model) DO UPDATE SET "
                    "requests = model_usage.requests + 1, "
                    "prompt_tokens = model_usage.prompt_tokens + excluded.prompt_tokens, "
                    "completion_tokens = model_usage.completion_tokens + "
                    "excluded.completion_tokens, "
                    "eval_ns = model_usage.eval_ns + excluded.eval_ns, "
                    "last_used_at = excluded.last_used_at",
                    soci::use(user), soci::use(model), soci::use(prompt), soci::use(completion),
                    soci::use(ns), soci::use(stamp));
    detail::execute(sql,
                    "UPDATE user_personal_models SET usage_count = usage_count + 1 "
                    "WHERE user_id = :u AND custom_name = :m",
                    soci::use(user), soci::use(model));
  });
}

std::optional<ModelUsageTotals> ModelUsage::get(std::int64_t user_id, const std::string& model) {
  long long user = user_id;
  auto rows =
      detail::with_session(*db_, "reading usage of '" + model + "'", [&](soci::session& sql) {
        return detail::query_rows<UsageRow>(sql,
                                            select_list(*db_) + "WHERE user_id = :u AND model = :m",
                                            soci::use(user), soci::use(model));
      });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<ModelUsageTotals> ModelUsage::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing model usage", [&](soci::session& sql) {
    return detail::query_rows<UsageRow>(
        sql, select_list(*db_) + "WHERE user_id = :u ORDER BY last_used_at DESC, model",
        soci::use(user));
  });
}

void ModelUsage::rename(std::int64_t user_id, const std::string& from, const std::string& to) {
  long long user = user_id;
  detail::in_transaction(*db_, "moving usage of '" + from + "' to '" + to + "'",
                         [&](soci::session& sql) {
                           sql << "DELETE FROM model_usage WHERE user_id = :u AND model = :m",
                               soci::use(user), soci::use(to);
                           sql << "UPDATE model_usage SET model = :to WHERE user_id = :u AND "
                                  "model = :m",
                               soci::use(to), soci::use(user), soci::use(from);
                         });
}

}  // namespace hearth::db
