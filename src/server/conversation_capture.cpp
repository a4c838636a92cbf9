// See conversation_capture.h.
#include "server/conversation_capture.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <set>

#include "core/log.h"
#include "data/data.h"

namespace hearth::server {
namespace {

constexpr std::size_t kSearched = 20;  // recent conversations looked at for rules 2 and 3

using Plan = ConversationCapture::Plan;

bool same(const db::Message& stored, const chat::ChatMessage& m) {
  return stored.role == m.role && stored.content == m.content;
}

// Whether stored[0, n) equals messages[0, n) (n <= both sizes).
bool same_prefix(const std::vector<db::Message>& stored,
                 const std::vector<chat::ChatMessage>& messages, std::size_t n) {
  if (n > stored.size() || n > messages.size()) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (!same(stored[i], messages[i])) return false;
  return true;
}

bool has_role(const std::vector<chat::ChatMessage>& messages, std::size_t from,
              std::string_view role) {
  for (std::size_t i = from; i < messages.size(); ++i)
    if (messages[i].role == role) return true;
  return false;
}

std::string title_of(const std::vector<chat::ChatMessage>& messages) {
  for (const auto& m : messages) {
    if (m.role != "user") continue;
    std::size_t n = std::min<std::size_t>(m.content.size(), 80);
    // Never cut a UTF-8 character in half.
    while (n > 0 && n < m.content.size() && (static_cast<unsigned char>(m.content[n]) & 0xC0) == 0x80) --n;
    return m.content.substr(0, n);
  }
  return {};
}

void rescore(const db::Database& db, std::int64_t user_id, std::int64_t message_id) {
  try {
    data::rescore_message(db, user_id, message_id);
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not rescore message {}: {}", message_id, e.what());
  }
}

// Runs one write (a single transaction), again while SQLite stays locked past its busy timeout
// (another process writing for long), up to kBusyTries times: a kept chat waits for the
// database rather than losing its conversation. A failed transaction left nothing, so trying
// again is safe. PostgreSQL waits for its locks by itself; its `unavailable` means a lost
// connection, which waiting does not mend.
constexpr int kBusyTries = 6;

template <class F>
auto while_busy(const db::Database& db, F&& write) {
  for (int attempt = 1;; ++attempt) {
    try {
      return write();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::unavailable || db.backend() != db::Backend::sqlite ||
          attempt == kBusyTries)
        throw;
      SPDLOG_INFO("the database is busy; keeping the chat waits ({})", e.what());
    }
  }
}

std::int64_t parse_id(std::string_view text, std::string_view where) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n <= 0)
    throw Error(ErrorKind::invalid_input,
                std::string(where) + " must be a conversation id (a positive integer)");
  return n;
}

std::optional<std::int64_t> body_id(const json::object& o, std::string_view field,
                                    std::string_view where) {
  const auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  const auto& v = it->value();
  if (v.is_int64() && v.as_int64() > 0) return v.as_int64();
  if (v.is_uint64() &&
      v.as_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
      v.as_uint64() > 0)
    return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_string()) return parse_id(v.as_string(), where);
  throw Error(ErrorKind::invalid_input,
              std::string(where) + " must be a conversation id (a positive integer)");
}

// The conversation id the request names (header or body; see the rule), nullopt when none.
std::optional<std::int64_t> requested_id(const Request& request, const json::object& body) {
  std::optional<std::int64_t> id;
  auto take = [&](std::optional<std::int64_t> given) {
    if (!given) return;
    if (id && *id != *given)
      throw Error(ErrorKind::invalid_input, "the request names two different conversations (" +
                                                std::to_string(*id) + " and " +
                                                std::to_string(*given) + ")");
    id = given;
  };
  if (const std::string_view header = request.header("x-hearth-conversation-id"); !header.empty())
    take(parse_id(header, "header X-Hearth-Conversation-Id"));
  take(body_id(body, "conversation_id", "field 'conversation_id'"));
  if (const auto it = body.find("hearth"); it != body.end() && it->value().is_object())
    take(body_id(it->value().as_object(), "conversation_id", "field 'hearth.conversation_id'"));
  return id;
}

// Rule 1: the request's messages followed down the conversation's tree.
Plan plan_in(db::Conversations& conversations, std::int64_t user, std::int64_t id,
             const std::vector<chat::ChatMessage>& messages) {
  Plan plan;
  plan.conversation_id = id;
  const auto tree = conversations.every_message(user, id);
  std::set<std::int64_t> on_branch;
  for (const auto& m : conversations.messages(user, id)) on_branch.insert(m.id);
  std::map<std::optional<std::int64_t>, std::vector<const db::Message*>>
      children;  // by id: oldest first
  for (const auto& m : tree) children[m.parent_id].push_back(&m);
  // The child equal to `m`: the one on the current branch, else the newest.
  auto child = [&](std::optional<std::int64_t> parent, auto&& fits) -> const db::Message* {
    const db::Message* best = nullptr;
    for (const db::Message* c : children[parent]) {
      if (!fits(*c)) continue;
      if (on_branch.count(c->id)) return c;
      best = c;
    }
    return best;
  };
  const db::Message* at = nullptr;
  std::size_t found = 0;
  for (; found < messages.size(); ++found) {
    const db::Message* next = child(at ? std::optional(at->id) : std::nullopt,
                                    [&](const db::Message& c) { return same(c, messages[found]); });
    if (!next) break;
    at = next;
  }
  if (at) plan.anchor = at->id;
  if (found == messages.size()) {
    // Everything is stored already: another answer to the last message.
    if (const db::Message* old =
            child(at->id, [](const db::Message& c) { return c.role == "assistant"; }))
      plan.regenerated_id = old->id;
    return plan;
  }
  plan.to_add.assign(messages.begin() + static_cast<std::ptrdiff_t>(found), messages.end());
  if (at && at->role == "assistant") plan.continued_id = at->id;
  return plan;
}

// Rules 2 and 3: the caller's recent conversations with this model; nullopt when none fits.
std::optional<Plan> plan_by_content(db::Conversations& conversations, std::int64_t user,
                                    const std::string& model,
                                    const std::vector<chat::ChatMessage>& messages) {
  for (const auto& c : conversations.recent(user, model, kSearched)) {
    const auto branch = conversations.messages(user, c.id);
    // Both rules need a complete exchange: something that ends with an answer.
    if (branch.size() < 2 || branch.back().role != "assistant") continue;
    const std::size_t n = branch.size();
    if (n < messages.size() && same_prefix(branch, messages, n) && has_role(messages, n, "user")) {
      Plan plan;  // rule 2: continued
      plan.conversation_id = c.id;
      plan.anchor = branch.back().id;
      plan.to_add.assign(messages.begin() + static_cast<std::ptrdiff_t>(n), messages.end());
      plan.continued_id = branch.back().id;
      return plan;
    }
    if (n == messages.size() + 1 && same_prefix(branch, messages, messages.size()) &&
        has_role(messages, 0, "assistant")) {
      Plan plan;  // rule 3: a later answer regenerated
      plan.conversation_id = c.id;
      plan.anchor = branch[n - 2].id;
      plan.regenerated_id = branch.back().id;
      return plan;
    }
  }
  return std::nullopt;
}

}  // namespace

bool store_refused(const Request& request) {
  std::string v(request.header("x-hearth-store"));
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "false" || v == "0" || v == "no" || v == "off";
}

std::shared_ptr<ConversationCapture> ConversationCapture::begin(
    const db::Database& db, const Request& request, const json::object& body,
    const std::string& model, const std::string& source,
    const std::vector<chat::ChatMessage>& messages, const std::string& parameters_json) {
  const std::int64_t user = request.caller.user_id;
  if (user == 0 || messages.empty() || store_refused(request)) return nullptr;
  // A malformed id is refused even when storing is off for this user: the request is wrong.
  const std::optional<std::int64_t> id = requested_id(request, body);
  if (!db::UserSettingsStore(db).get(user).store_conversations) return nullptr;
  db::Conversations conversations(db);
  Plan plan;
  if (id) {
    if (!conversations.find(user, *id))
      throw Error(ErrorKind::not_found, "conversation " + std::to_string(*id) + " not found");
    plan = plan_in(conversations, user, *id, messages);
  } else if (auto found = plan_by_content(conversations, user, model, messages)) {
    plan = std::move(*found);
  } else {
    plan.to_add = messages;  // rule 4: a new conversation
  }
  db::NewConversation fresh{.user_id = user,
                            .model = model,
                            .source = source,
                            .title = title_of(messages),
                            .parameters = parameters_json};
  return std::shared_ptr<ConversationCapture>(
      new ConversationCapture(db, user, model, std::move(fresh), std::move(plan)));
}

std::int64_t ConversationCapture::commit() {
  if (committed_) return conversation_id_;
  committed_ = true;
  db::RequestSide side{.conversation_id = plan_.conversation_id,
                       .fresh = fresh_,
                       .anchor = plan_.anchor,
                       .messages = {},
                       .continued_id = plan_.continued_id,
                       .regenerated_id = plan_.regenerated_id};
  for (const auto& m : plan_.to_add)
    side.messages.push_back({.role = m.role, .content = m.content});
  try {
    // One transaction: a failure leaves nothing of the request behind.
    const db::StoredRequest stored =
        while_busy(db_, [&] { return db::Conversations(db_).store_request(user_id_, side); });
    answer_parent_ = stored.leaf;
    conversation_id_ = stored.conversation_id;
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not keep the request in a conversation: {}", e.what());
    return 0;
  }
  // The replaced or continued answer's score follows its new mark (it keeps its row and
  // feedback either way).
  if (plan_.continued_id != 0) rescore(db_, user_id_, plan_.continued_id);
  if (plan_.regenerated_id != 0) rescore(db_, user_id_, plan_.regenerated_id);
  return conversation_id_;
}

std::int64_t ConversationCapture::finish(const std::string& answer, const std::string& reasoning,
                                         const Timings& timings) {
  if (commit() == 0) return 0;
  try {
    const db::Message m = while_busy(db_, [&] {
      return db::Conversations(db_).add_message(user_id_, conversation_id_,
                                                {.parent_id = answer_parent_,
                                                 .root = !answer_parent_,
                                                 .role = "assistant",
                                                 .content = answer,
                                                 .model = model_,
                                                 .prompt_tokens = timings.prompt_tokens,
                                                 .completion_tokens = timings.completion_tokens,
                                                 .duration_ms = timings.total_ns / 1'000'000,
                                                 .reasoning = reasoning});
    });
    rescore(db_, user_id_, m.id);
    return m.id;
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not keep the answer in conversation {}: {}", conversation_id_, e.what());
    return 0;
  }
}

}  // namespace hearth::server
