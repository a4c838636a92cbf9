// Conversations and their messages (conversations.h). Every statement carries the user id, so a
// caller can never reach another user's rows by guessing ids: such rows read as missing.
//
// The tree: every message has its parent_id (NULL for a root) and its position = the parent's
// + 1 (its depth). conversations.current_message_id names the leaf of the branch the
// conversation shows; add_message moves it to the new message, so regenerating an answer (a
// second child of the same question) switches the branch to the new answer while the old one
// keeps its row, flags and feedback. message_count is the current branch's length.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "db/conversations.h"
#include "db/internal.h"
#include "db/sealing.h"

namespace hearth::db {
namespace {

constexpr std::size_t kTitleLimit = 80;

// Cuts to at most `limit` bytes without splitting a UTF-8 sequence.
std::string cut_title(const std::string& text) {
  std::string t = text.substr(0, text.find('\n'));
  if (t.size() <= kTitleLimit) return t;
  std::size_t end = kTitleLimit;
  while (end > 0 && (static_cast<unsigned char>(t[end]) & 0xC0) == 0x80) --end;
  return t.substr(0, end);
}

struct ConversationRow {
  long long id = 0, user_id = 0, message_count = 0, current = 0;
  int opt_in = 0;
  soci::indicator opt_in_ind = soci::i_ok, current_ind = soci::i_ok;
  std::string model, source, title, parameters, created_at, updated_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(model));
    st.exchange(soci::into(source));
    st.exchange(soci::into(title));
    st.exchange(soci::into(parameters));
    st.exchange(soci::into(opt_in, opt_in_ind));
    st.exchange(soci::into(message_count));
    st.exchange(soci::into(current, current_ind));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(updated_at));
  }
  Conversation get() const {
    Conversation c;
    c.id = id;
    c.user_id = user_id;
    c.model = model;
    c.source = source;
    c.title = title;
    c.parameters = parameters;
    if (opt_in_ind != soci::i_null) c.training_opt_in = opt_in != 0;
    c.message_count = message_count;
    if (current_ind != soci::i_null) c.current_message_id = current;
    c.created_at = detail::read_time(created_at, "conversations.created_at");
    c.updated_at = detail::read_time(updated_at, "conversations.updated_at");
    return c;
  }
};

std::string conversation_select(const Database::Impl& db) {
  using detail::time_column;
  return "SELECT id, user_id, model, source, title, " + detail::json_column(db, "parameters") +
         ", training_opt_in, message_count, current_message_id, " + time_column(db, "created_at") +
         ", " + time_column(db, "updated_at") + " FROM conversations ";
}

struct MessageRow {
  long long id = 0, conversation_id = 0, parent = 0, prompt = 0, completion = 0, duration = 0;
  int position = 0, regenerated = 0, continued = 0;
  double score = 0;
  soci::indicator score_ind = soci::i_ok, parent_ind = soci::i_ok;
  std::string role, content, reasoning, model, created_at;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(conversation_id));
    st.exchange(soci::into(parent, parent_ind));
    st.exchange(soci::into(position));
    st.exchange(soci::into(role));
    st.exchange(soci::into(content));
    st.exchange(soci::into(reasoning));
    st.exchange(soci::into(model));
    st.exchange(soci::into(prompt));
    st.exchange(soci::into(completion));
    st.exchange(soci::into(duration));
    st.exchange(soci::into(regenerated));
    st.exchange(soci::into(continued));
    st.exchange(soci::into(score, score_ind));
    st.exchange(soci::into(created_at));
  }
  Message get() const {
    Message m;
    m.id = id;
    m.conversation_id = conversation_id;
    if (parent_ind != soci::i_null) m.parent_id = parent;
    m.position = position;
    m.role = role;
    m.content = content;
    m.reasoning = reasoning;
    m.model = model;
    m.prompt_tokens = prompt;
    m.completion_tokens = completion;
    m.duration_ms = duration;
    m.regenerated = regenerated != 0;
    m.continued = continued != 0;
    if (score_ind != soci::i_null) m.quality_score = score;
    m.created_at = detail::read_time(created_at, "messages.created_at");
    return m;
  }
};

// Messages joined with their conversation so that every query can require its owner.
std::string message_select(const Database::Impl& db) {
  return "SELECT m.id, m.conversation_id, m.parent_id, m.position, m.role, m.content, "
         "m.reasoning, m.model, "
         "m.prompt_tokens, m.completion_tokens, m.duration_ms, m.regenerated, m.continued, "
         "m.quality_score, " +
         detail::time_column(db, "m.created_at") +
         " FROM messages m JOIN conversations c ON c.id = m.conversation_id ";
}

// Titles and contents are stored sealed (db/sealing.h); these open what a query read.
std::vector<Conversation> opened(Database::Impl& db, soci::session& sql,
                                 std::vector<Conversation> list) {
  for (Conversation& c : list) c.title = detail::open(db, sql, c.user_id, c.title, "conversations.title");
  return list;
}

std::vector<Message> opened(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                            std::vector<Message> list) {
  for (Message& m : list) {
    m.content = detail::open(db, sql, user_id, m.content, "messages.content");
    if (!m.reasoning.empty())
      m.reasoning = detail::open(db, sql, user_id, m.reasoning, "messages.reasoning");
  }
  return list;
}

// The conversation of one of the user's messages: the subquery every message update uses.
constexpr const char* kOwnedMessage =
    " WHERE id = :m AND conversation_id IN (SELECT id FROM conversations WHERE user_id = :u)";

// Sets `set` on one of the user's messages; Error(not_found) when it is not theirs.
void update_message(soci::session& sql, std::int64_t user_id, std::int64_t message_id,
                    const std::string& set) {
  long long user = user_id, message = message_id;
  long long changed = detail::execute(sql, "UPDATE messages SET " + set + kOwnedMessage,
                                      soci::use(message), soci::use(user));
  if (changed == 0) throw Error(ErrorKind::not_found, "no message " + std::to_string(message_id));
}

void update_message(Database::Impl& db, std::int64_t user_id, std::int64_t message_id,
                    const std::string& set, std::string_view doing) {
  detail::with_session(db, doing,
                       [&](soci::session& sql) { update_message(sql, user_id, message_id, set); });
}

long long insert_conversation(Database::Impl& db, soci::session& sql, const NewConversation& c) {
  long long user = c.user_id;
  std::string stamp = format_time(now());
  std::string title = detail::seal(db, sql, c.user_id, cut_title(c.title), "conversations.title");
  std::string parameters = c.parameters.empty() ? "{}" : c.parameters;
  long long new_id = 0;
  sql << "INSERT INTO conversations (user_id, model, source, title, parameters, created_at, "
         "updated_at) VALUES (:u, :m, :s, :t, :p, :c, :c2) RETURNING id",
      soci::use(user), soci::use(c.model), soci::use(c.source), soci::use(title),
      soci::use(parameters), soci::use(stamp), soci::use(stamp), soci::into(new_id);
  return new_id;
}

void check_message(const NewMessage& m) {
  if (m.role != "system" && m.role != "user" && m.role != "assistant")
    throw Error(ErrorKind::invalid_input,
                "message role '" + m.role + "' is not one of system, user, assistant");
  if (m.prompt_tokens < 0 || m.completion_tokens < 0 || m.duration_ms < 0)
    throw Error(ErrorKind::invalid_input, "message token counts and time cannot be negative");
}

// Inside the caller's transaction (see add_message); returns the new message's id.
long long insert_message(Database::Impl& db, soci::session& sql, std::int64_t user_id,
                         std::int64_t conversation_id, const NewMessage& m) {
  check_message(m);
  long long user = user_id, conversation = conversation_id;
  long long prompt = m.prompt_tokens, completion = m.completion_tokens, duration = m.duration_ms;
  std::string stamp = format_time(now());
  const std::string title =
      m.role == "user" ? detail::seal(db, sql, user_id, cut_title(m.content), "conversations.title")
                       : std::string();
  const std::string content = detail::seal(db, sql, user_id, m.content, "messages.content");
  const std::string reasoning =
      m.reasoning.empty() ? std::string()
                          : detail::seal(db, sql, user_id, m.reasoning, "messages.reasoning");
  // Updating the conversation first checks its owner and, on PostgreSQL, locks its row, so two
  // concurrent appends to the current leaf form a chain (SQLite's write lock already
  // serialises).
  long long owned = detail::execute(
      sql,
      "UPDATE conversations SET updated_at = :t, "
      "title = CASE WHEN title = '' THEN :title ELSE title END WHERE id = :c AND user_id = :u",
      soci::use(stamp), soci::use(title), soci::use(conversation), soci::use(user));
  if (owned == 0)
    throw Error(ErrorKind::not_found, "no conversation " + std::to_string(conversation_id));
  long long parent = 0;
  soci::indicator parent_ind = soci::i_null;
  if (m.parent_id) {
    parent = *m.parent_id;
    parent_ind = soci::i_ok;
  } else if (!m.root) {
    sql << "SELECT current_message_id FROM conversations WHERE id = :c", soci::use(conversation),
        soci::into(parent, parent_ind);
  }
  int position = 0;
  if (parent_ind != soci::i_null) {
    soci::indicator found = soci::i_null;
    int parent_position = 0;
    sql << "SELECT position FROM messages WHERE id = :p AND conversation_id = :c",
        soci::use(parent), soci::use(conversation), soci::into(parent_position, found);
    if (!sql.got_data() || found == soci::i_null)
      throw Error(ErrorKind::not_found, "no message " + std::to_string(parent) +
                                            " in conversation " + std::to_string(conversation_id));
    position = parent_position + 1;
  }
  long long new_id = 0;
  sql << "INSERT INTO messages (conversation_id, parent_id, position, role, content, reasoning, "
         "model, prompt_tokens, completion_tokens, duration_ms, created_at) "
         "VALUES (:c, :pa, :p, :r, :x, :rs, :m, :pt, :ct, :d, :t) RETURNING id",
      soci::use(conversation), soci::use(parent, parent_ind), soci::use(position),
      soci::use(m.role), soci::use(content), soci::use(reasoning), soci::use(m.model),
      soci::use(prompt),
      soci::use(completion), soci::use(duration), soci::use(stamp), soci::into(new_id);
  const long long count = position + 1;
  detail::execute(sql,
                  "UPDATE conversations SET current_message_id = :m, message_count = :n "
                  "WHERE id = :c",
                  soci::use(new_id), soci::use(count), soci::use(conversation));
  return new_id;
}

}  // namespace

Conversation Conversations::create(const NewConversation& c) {
  long long id = detail::with_session(*db_, "creating a conversation", [&](soci::session& sql) {
    return insert_conversation(*db_, sql, c);
  });
  auto found = find(c.user_id, id);
  HEARTH_ASSERT(found.has_value(), "a conversation vanished right after it was created");
  return *found;
}

std::optional<Conversation> Conversations::find(std::int64_t user_id, std::int64_t id) {
  long long user = user_id, key = id;
  auto rows = detail::with_session(*db_, "reading a conversation", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<ConversationRow>(
        sql, conversation_select(*db_) + "WHERE id = :id AND user_id = :u", soci::use(key),
        soci::use(user)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<Conversation> Conversations::list(std::int64_t user_id, std::size_t limit,
                                              std::size_t offset) {
  long long user = user_id;
  long long n = static_cast<long long>(std::min<std::size_t>(limit, 1'000'000));
  long long skip = static_cast<long long>(std::min<std::size_t>(offset, 1'000'000'000));
  return detail::with_session(*db_, "listing conversations", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<ConversationRow>(
        sql,
        conversation_select(*db_) +
            "WHERE user_id = :u ORDER BY updated_at DESC, id DESC LIMIT :n OFFSET :o",
        soci::use(user), soci::use(n), soci::use(skip)));
  });
}

std::vector<Conversation> Conversations::search(std::int64_t user_id, const std::string& text,
                                                std::size_t limit, std::size_t offset) {
  // Titles and messages are sealed, so the database cannot match them: the user's own are opened
  // in memory and matched here, ignoring ASCII case (what SQLite's LIKE did).
  long long user = user_id;
  auto lower = [](std::string t) {
    for (char& ch : t)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return t;
  };
  const std::string needle = lower(text);
  auto matches = [&](const std::string& hay) {
    return lower(hay).find(needle) != std::string::npos;
  };
  return detail::with_session(*db_, "searching conversations", [&](soci::session& sql) {
    std::vector<Conversation> all = opened(
        *db_, sql,
        detail::query_rows<ConversationRow>(
            sql, conversation_select(*db_) + "WHERE user_id = :u ORDER BY updated_at DESC, id DESC",
            soci::use(user)));
    std::set<long long> hit;
    {
      long long conversation = 0;
      std::string content;
      soci::statement st =
          (sql.prepare << "SELECT m.conversation_id, m.content FROM messages m JOIN conversations "
                          "c ON c.id = m.conversation_id WHERE c.user_id = :u",
           soci::use(user), soci::into(conversation), soci::into(content));
      st.execute();
      while (st.fetch()) {
        if (hit.contains(conversation)) continue;
        if (matches(detail::open(*db_, sql, user_id, content, "messages.content")))
          hit.insert(conversation);
      }
    }
    std::vector<Conversation> found;
    std::size_t skipped = 0;
    for (Conversation& c : all) {
      if (found.size() >= limit) break;
      if (!matches(c.title) && !hit.contains(c.id)) continue;
      if (skipped++ < offset) continue;
      found.push_back(std::move(c));
    }
    return found;
  });
}

std::vector<Conversation> Conversations::recent(std::int64_t user_id, const std::string& model,
                                                std::size_t limit) {
  long long user = user_id;
  long long n = static_cast<long long>(std::min<std::size_t>(limit, 1'000'000));
  return detail::with_session(*db_, "finding recent conversations", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<ConversationRow>(
        sql,
        conversation_select(*db_) +
            "WHERE user_id = :u AND model = :m ORDER BY updated_at DESC, id DESC LIMIT :n",
        soci::use(user), soci::use(model), soci::use(n)));
  });
}

std::vector<Conversation> Conversations::all(std::int64_t user_id, const std::string& model,
                                             std::optional<Timestamp> since) {
  long long user = user_id;
  // An empty model and the epoch as `since` select everything, so one statement serves all.
  std::string from = format_time(since.value_or(Timestamp{}));
  return detail::with_session(*db_, "reading conversations", [&](soci::session& sql) {
    return opened(*db_, sql, detail::query_rows<ConversationRow>(
        sql,
        conversation_select(*db_) +
            "WHERE user_id = :u AND (CAST(:m AS TEXT) = '' OR model = :m2) AND updated_at >= :s "
            "ORDER BY id",
        soci::use(user), soci::use(model), soci::use(model), soci::use(from)));
  });
}

bool Conversations::remove(std::int64_t user_id, std::int64_t id) {
  long long user = user_id, key = id;
  // Messages and their feedback go with it (ON DELETE CASCADE).
  return detail::with_session(*db_, "removing a conversation", [&](soci::session& sql) {
    return detail::execute(sql, "DELETE FROM conversations WHERE id = :id AND user_id = :u",
                           soci::use(key), soci::use(user)) > 0;
  });
}

void Conversations::set_training_opt_in(std::int64_t user_id, std::int64_t id,
                                        std::optional<bool> opt_in) {
  long long user = user_id, key = id;
  int value = opt_in.value_or(false) ? 1 : 0;
  soci::indicator ind = opt_in ? soci::i_ok : soci::i_null;
  long long changed = detail::with_session(*db_, "setting training use", [&](soci::session& sql) {
    return detail::execute(
        sql, "UPDATE conversations SET training_opt_in = :v WHERE id = :id AND user_id = :u",
        soci::use(value, ind), soci::use(key), soci::use(user));
  });
  if (changed == 0) throw Error(ErrorKind::not_found, "no conversation " + std::to_string(id));
}

Message Conversations::add_message(std::int64_t user_id, std::int64_t conversation_id,
                                   const NewMessage& m) {
  check_message(m);  // before taking SQLite's write lock
  long long id = detail::in_transaction(*db_, "adding a message", [&](soci::session& sql) {
    return insert_message(*db_, sql, user_id, conversation_id, m);
  });
  auto found = find_message(user_id, conversation_id, id);
  HEARTH_ASSERT(found.has_value(), "a message vanished right after it was added");
  return *found;
}

StoredRequest Conversations::store_request(std::int64_t user_id, const RequestSide& side) {
  for (const auto& m : side.messages) check_message(m);
  return detail::in_transaction(*db_, "keeping a request", [&](soci::session& sql) {
    StoredRequest stored;
    stored.conversation_id = side.conversation_id;
    if (stored.conversation_id == 0) {
      NewConversation fresh = side.fresh;
      fresh.user_id = user_id;
      stored.conversation_id = insert_conversation(*db_, sql, fresh);
    }
    stored.leaf = side.anchor;
    for (NewMessage m : side.messages) {
      m.parent_id = stored.leaf;
      m.root = !stored.leaf;
      stored.leaf = insert_message(*db_, sql, user_id, stored.conversation_id, m);
    }
    if (side.continued_id != 0) update_message(sql, user_id, side.continued_id, "continued = 1");
    if (side.regenerated_id != 0)
      update_message(sql, user_id, side.regenerated_id, "regenerated = 1");
    return stored;
  });
}

std::vector<Message> Conversations::messages(std::int64_t user_id, std::int64_t conversation_id) {
  const auto c = find(user_id, conversation_id);
  if (!c || !c->current_message_id) return {};
  const std::vector<Message> tree = every_message(user_id, conversation_id);
  std::map<std::int64_t, const Message*> by_id;
  for (const auto& m : tree) by_id[m.id] = &m;
  // From the leaf up to its root; a parent is always older, so the walk ends (the step bound
  // only guards against a corrupted table).
  std::vector<Message> branch;
  std::optional<std::int64_t> at = c->current_message_id;
  while (at && branch.size() <= tree.size()) {
    const auto it = by_id.find(*at);
    if (it == by_id.end()) break;
    branch.push_back(*it->second);
    at = it->second->parent_id;
  }
  std::reverse(branch.begin(), branch.end());
  return branch;
}

std::vector<Message> Conversations::every_message(std::int64_t user_id,
                                                  std::int64_t conversation_id) {
  long long user = user_id, conversation = conversation_id;
  return detail::with_session(*db_, "reading messages", [&](soci::session& sql) {
    return opened(*db_, sql, user_id, detail::query_rows<MessageRow>(
        sql, message_select(*db_) + "WHERE m.conversation_id = :c AND c.user_id = :u ORDER BY m.id",
        soci::use(conversation), soci::use(user)));
  });
}

std::optional<Message> Conversations::find_message(std::int64_t user_id,
                                                   std::int64_t conversation_id,
                                                   std::int64_t message_id) {
  auto m = find_message(user_id, message_id);
  if (!m || m->conversation_id != conversation_id) return std::nullopt;
  return m;
}

std::optional<Message> Conversations::find_message(std::int64_t user_id, std::int64_t message_id) {
  long long user = user_id, message = message_id;
  auto rows = detail::with_session(*db_, "reading a message", [&](soci::session& sql) {
    return opened(*db_, sql, user_id, detail::query_rows<MessageRow>(
        sql, message_select(*db_) + "WHERE m.id = :m AND c.user_id = :u", soci::use(message),
        soci::use(user)));
  });
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

void Conversations::mark_regenerated(std::int64_t user_id, std::int64_t message_id) {
  update_message(*db_, user_id, message_id, "regenerated = 1", "marking a message regenerated");
}

void Conversations::mark_continued(std::int64_t user_id, std::int64_t message_id) {
  update_message(*db_, user_id, message_id, "continued = 1", "marking a message continued");
}

void Conversations::set_quality(std::int64_t user_id, std::int64_t message_id, double score) {
  if (!std::isfinite(score) || score < 0 || score > 1)
    throw Error(ErrorKind::invalid_input, "a quality score must be within 0..1");
  long long user = user_id, message = message_id;
  long long changed =
      detail::with_session(*db_, "storing a quality score", [&](soci::session& sql) {
        return detail::execute(
            sql, std::string("UPDATE messages SET quality_score = :s") + kOwnedMessage,
            soci::use(score), soci::use(message), soci::use(user));
      });
  if (changed == 0) throw Error(ErrorKind::not_found, "no message " + std::to_string(message_id));
}

}  // namespace hearth::db
