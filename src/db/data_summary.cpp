// Conversations::data_summary: one aggregate query over a user's conversations, answers and
// feedback, grouped by model (see conversations.h).
#include <string>

#include "db/conversations.h"
#include "db/internal.h"

namespace hearth::db {
namespace {

struct SummaryRow {
  std::string model;
  long long conversations = 0, answers = 0, rated = 0, scored = 0;
  std::array<long long, 10> buckets{};

  void bind(soci::statement& st) {
    st.exchange(soci::into(model));
    st.exchange(soci::into(conversations));
    st.exchange(soci::into(answers));
    st.exchange(soci::into(rated));
    st.exchange(soci::into(scored));
    for (auto& b : buckets) st.exchange(soci::into(b));
  }
  ModelDataSummary get() const {
    ModelDataSummary s{.model = model, .conversations = conversations, .answers = answers,
                       .rated = rated, .scored = scored};
    for (std::size_t k = 0; k < buckets.size(); ++k) s.histogram[k] = buckets[k];
    return s;
  }
};

// The ten bucket columns: scores in [k/10, (k+1)/10), the last one closed at 1.
std::string bucket_columns() {
  std::string out;
  for (int k = 0; k < 10; ++k) {
    const std::string lo = "0." + std::to_string(k);
    const std::string hi = k == 9 ? "" : " AND m.quality_score < 0." + std::to_string(k + 1);
    out += ", SUM(CASE WHEN m.quality_score >= " + (k == 0 ? std::string("0") : lo) + hi +
           " THEN 1 ELSE 0 END)";
  }
  return out;
}

}  // namespace

std::vector<ModelDataSummary> Conversations::data_summary(std::int64_t user_id) {
  long long user = user_id;
  const std::string query =
      "SELECT c.model, COUNT(DISTINCT c.id), COUNT(m.id), COUNT(f.id), COUNT(m.quality_score)" +
      bucket_columns() +
      " FROM conversations c"
      " LEFT JOIN messages m ON m.conversation_id = c.id AND m.role = 'assistant'"
      " LEFT JOIN feedback f ON f.message_id = m.id AND f.user_id = c.user_id"
      " WHERE c.user_id = :u GROUP BY c.model ORDER BY c.model";
  return detail::with_session(*db_, "summarizing training data", [&](soci::session& sql) {
    return detail::query_rows<SummaryRow>(sql, query, soci::use(user));
  });
}

}  // namespace hearth::db
