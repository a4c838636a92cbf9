// Feedback on answers, per-user settings and dataset versions (conversations.h). Like the
// conversations, every statement names the user, so another user's rows read as missing.
#include "db/conversations.h"
#include "db/internal.h"
#include "db/sealing.h"

namespace hearth::db {
namespace {

struct FeedbackRow {
  long long id = 0, message_id = 0, user_id = 0;
  int thumbs = 0, rating = 0;
  soci::indicator thumbs_ind = soci::i_ok, rating_ind = soci::i_ok;
  std::string reason, comment, corrected, created_at, updated_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(message_id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(thumbs, thumbs_ind));
    st.exchange(soci::into(rating, rating_ind));
    st.exchange(soci::into(reason));
    st.exchange(soci::into(comment));
    st.exchange(soci::into(corrected));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(updated_at));
  }
  Feedback get() const {
    Feedback f;
    f.id = id;
    f.message_id = message_id;
    f.user_id = user_id;
    if (thumbs_ind != soci::i_null) f.thumbs = thumbs;
    if (rating_ind != soci::i_null) f.rating = rating;
    f.reason = reason;
    f.comment = comment;
    f.corrected_answer = corrected;
    f.created_at = detail::read_time(created_at, "feedback.created_at");
    f.updated_at = detail::read_time(updated_at, "feedback.updated_at");
    return f;
  }
};

std::string feedback_select(const Database::Impl& db) {
  return "SELECT f.id, f.message_id, f.user_id, f.thumbs, f.rating, f.reason, f.comment, "
         "f.corrected_answer, " +
         detail::time_column(db, "f.created_at") + ", " + detail::time_column(db, "f.updated_at") +
         " FROM feedback f ";
}

// Reason, comment and correction are stored sealed (db/sealing.h).
std::vector<Feedback> opened(Database::Impl& db, soci::session& sql, std::vector<Feedback> list) {
  for (Feedback& f : list) {
    f.reason = detail::open(db, sql, f.user_id, f.reason, "feedback.reason");
    f.comment = detail::open(db, sql, f.user_id, f.comment, "feedback.comment");
    f.corrected_answer =
        detail::open(db, sql, f.user_id, f.corrected_answer, "feedback.corrected_answer");
  }
  return list;
}

struct VersionRow {
  long long id = 0, user_id = 0, train = 0, validation = 0;
  std::string hash, filter, train_path, validation_path, created_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(hash));
    st.exchange(soci::into(train));
    st.exchange(soci::into(validation));
    st.exchange(soci::into(filter));
    st.exchange(soci::into(train_path));
    st.exchange(soci::into(validation_path));
    st.exchange(soci::into(created_at));
  }
  DatasetVersion get() const {
    return {
        id,         user_id,         hash,
        train,      validation,      filter,
        train_path, validation_path, detail::read_time(created_at, "dataset_versions.created_at")};
  }
};

std::string version_select(const Database::Impl& db) {
  return "SELECT id, user_id, content_hash, train_examples, validation_examples, " +
         detail::json_column(db, "filter") + ", train_path, validation_path, " +
         detail::time_column(db, "created_at") + " FROM dataset_versions ";
}

}  // namespace

// ---- user settings ---------------------------------------------------------------------------

UserSettings UserSettingsStore::get(std::int64_t user_id) {
  long long user = user_id;
  UserSettings s;
  s.user_id = user_id;
  detail::with_session(*db_, "reading user settings", [&](soci::session& sql) {
    int store = 1, opt_in = 0;
    std::string route;
    sql << "SELECT store_conversations, training_opt_in, route_policy FROM user_settings "
           "WHERE user_id = :u",
        soci::use(user), soci::into(store), soci::into(opt_in), soci::into(route);
    if (sql.got_data()) {
      s.store_conversations = store != 0;
      s.training_opt_in = opt_in != 0;
      s.route_policy = route;
    }
  });
  return s;
}

void UserSettingsStore::set(const UserSettings& settings) {
  long long user = settings.user_id;
  int store = settings.store_conversations ? 1 : 0, opt_in = settings.training_opt_in ? 1 : 0;
  std::string route = settings.route_policy;
  std::string stamp = format_time(now());
  // A missing user fails the foreign key: Error(not_found).
  detail::with_session(*db_, "storing user settings", [&](soci::session& sql) {
    detail::execute(sql,
                    "INSERT INTO user_settings (user_id, store_conversations, training_opt_in, "
                    "route_policy, updated_at) VALUES (:u, :s, :o, :r, :t) ON CONFLICT (user_id) "
                    "DO UPDATE SET store_conversations = excluded.store_conversations, "
                    "training_opt_in = excluded.training_opt_in, "
                    "route_policy = excluded.route_policy, updated_at = excluded.updated_at",
                    soci::use(user), soci::use(store), soci::use(opt_in), soci::use(route),
                    soci::use(stamp));
  });
}

// ---- feedback --------------------------------------------------------------------------------

Feedback FeedbackStore::upsert(std::int64_t user_id, std::int64_t message_id,
                               const NewFeedback& f) {
  if (f.thumbs && *f.thumbs != 1 && *f.thumbs != -1)
    throw Error(ErrorKind::invalid_input, "thumbs must be +1 (up) or -1 (down)");
  if (f.rating && (*f.rating < 1 || *f.rating > 5))
    throw Error(ErrorKind::invalid_input,
                "a rating must be 1 to 5, not " + std::to_string(*f.rating));
  if (!f.thumbs && !f.rating && f.corrected_answer.empty())
    throw Error(ErrorKind::invalid_input, "feedback needs thumbs, a rating or a corrected answer");
  long long user = user_id, message = message_id;
  int thumbs = f.thumbs.value_or(0), rating = f.rating.value_or(0);
  soci::indicator thumbs_ind = f.thumbs ? soci::i_ok : soci::i_null;
  soci::indicator rating_ind = f.rating ? soci::i_ok : soci::i_null;
  std::string stamp = format_time(now());
  detail::in_transaction(*db_, "storing feedback", [&](soci::session& sql) {
    std::string role;
    sql << "SELECT m.role FROM messages m JOIN conversations c ON c.id = m.conversation_id "
           "WHERE m.id = :m AND c.user_id = :u",
        soci::use(message), soci::use(user), soci::into(role);
    if (!sql.got_data())
      throw Error(ErrorKind::not_found, "no message " + std::to_string(message_id));
    if (role != "assistant")
      throw Error(ErrorKind::not_found, "message " + std::to_string(message_id) +
                                            " is not an answer (feedback is on "
                                            "assistant messages)");
    const std::string reason = detail::seal(*db_, sql, user_id, f.reason, "feedback.reason");
    const std::string comment = detail::seal(*db_, sql, user_id, f.comment, "feedback.comment");
    const std::string corrected =
        detail::seal(*db_, sql, user_id, f.corrected_answer, "feedback.corrected_answer");
    // A second call replaces every field but keeps created_at.
    detail::execute(sql,
                    "INSERT INTO feedback (message_id, user_id, thumbs, rating, reason, comment, "
                    "corrected_answer, created_at, updated_at) "
                    "VALUES (:m, :u, :th, :r, :re, :co, :ca, :t, :t2) "
                    "ON CONFLICT (message_id, user_id) DO UPDATE SET thumbs = excluded.thumbs, "
                    "rating = excluded.rating, reason = excluded.reason, "
                    "comment = excluded.comment, corrected_answer = excluded.corrected_answer, "
                    "updated_at = excluded.updated_at",
                    soci::use(message), soci::use(user), soci::use(thumbs, thumbs_ind),
                    soci::use(rating, rating_ind), soci::use(reason), soci::use(comment),
                    soci::use(corrected), soci::use(stamp), soci::use(stamp));
  });
  auto found = find(user_id, message_id);
  HEARTH_ASSERT(found.has_value(), "feedback vanished right after it was stored");
  return *found;
}

std::optional<Feedback> FeedbackStore::find(std::int64_t user_id, std::int64_t message_id) {
  long long user = user_id, message = message_id;
  auto rows = detail::with_session(*db_, "reading feedback", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<FeedbackRow>(
        sql, feedback_select(*db_) + "WHERE f.message_id = :m AND f.user_id = :u",
        soci::use(message), soci::use(user)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<Feedback> FeedbackStore::for_conversation(std::int64_t user_id,
                                                      std::int64_t conversation_id) {
  long long user = user_id, conversation = conversation_id;
  return detail::with_session(*db_, "reading a conversation's feedback", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<FeedbackRow>(
        sql,
        feedback_select(*db_) +
            "JOIN messages m ON m.id = f.message_id JOIN conversations c ON c.id = "
            "m.conversation_id WHERE c.id = :c AND c.user_id = :u AND f.user_id = :u2 "
            "ORDER BY f.id",
        soci::use(conversation), soci::use(user), soci::use(user)));
  });
}

// ---- dataset versions ------------------------------------------------------------------------

DatasetVersion DatasetVersions::create(const DatasetVersion& v) {
  if (v.train_examples < 0 || v.validation_examples < 0)
    throw Error(ErrorKind::invalid_input, "a dataset version cannot have negative counts");
  long long user = v.user_id, train = v.train_examples, validation = v.validation_examples;
  std::string filter = v.filter.empty() ? "{}" : v.filter;
  std::string stamp = format_time(now());
  long long id = detail::with_session(*db_, "recording a dataset version", [&](soci::session& sql) {
    long long new_id = 0;
    sql << "INSERT INTO dataset_versions (user_id, content_hash, train_examples, "
           "validation_examples, filter, train_path, validation_path, created_at) "
           "VALUES (:u, :h, :tr, :va, :f, :tp, :vp, :c) RETURNING id",
        soci::use(user), soci::use(v.content_hash), soci::use(train), soci::use(validation),
        soci::use(filter), soci::use(v.train_path), soci::use(v.validation_path), soci::use(stamp),
        soci::into(new_id);
    return new_id;
  });
  auto found = find(v.user_id, id);
  HEARTH_ASSERT(found.has_value(), "a dataset version vanished right after it was recorded");
  return *found;
}

std::optional<DatasetVersion> DatasetVersions::find(std::int64_t user_id, std::int64_t id) {
  long long user = user_id, key = id;
  auto rows = detail::with_session(*db_, "reading a dataset version", [&](soci::session& sql) {
    return detail::query_rows<VersionRow>(sql,
                                          version_select(*db_) + "WHERE id = :id AND user_id = :u",
                                          soci::use(key), soci::use(user));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<DatasetVersion> DatasetVersions::list(std::int64_t user_id) {
  long long user = user_id;
  return detail::with_session(*db_, "listing dataset versions", [&](soci::session& sql) {
    return detail::query_rows<VersionRow>(
        sql, version_select(*db_) + "WHERE user_id = :u ORDER BY created_at DESC, id DESC",
        soci::use(user));
  });
}

}  // namespace hearth::db
