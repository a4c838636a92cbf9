// See conversation_capture.h.
#include "server/conversation_capture.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/log.h"
#include "data/data.h"

namespace hearth::server {
namespace {

constexpr std::size_t kSearched = 20;  // recent conversations looked at for rules 2 and 3

bool same(const db::Message& stored, const chat::ChatMessage& m) {
  return stored.role == m.role && stored.content == m.content;
}

// Whether `stored` equals messages[0, stored.size()).
bool is_prefix(const std::vector<db::Message>& stored, const std::vector<chat::ChatMessage>& messages) {
  if (stored.size() > messages.size()) return false;
  for (std::size_t i = 0; i < stored.size(); ++i)
    if (!same(stored[i], messages[i])) return false;
  return true;
}

bool has_user_message(const std::vector<chat::ChatMessage>& messages, std::size_t from) {
  for (std::size_t i = from; i < messages.size(); ++i)
    if (messages[i].role == "user") return true;
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

// The last live assistant message, when the history ends with one.
const db::Message* last_answer(const std::vector<db::Message>& live) {
  if (live.empty() || live.back().role != "assistant") return nullptr;
  return &live.back();
}

}  // namespace

bool store_refused(const Request& request) {
  std::string v(request.header("x-hearth-store"));
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "false" || v == "0" || v == "no" || v == "off";
}

std::shared_ptr<ConversationCapture> ConversationCapture::begin(
    const db::Database& db, const Request& request, const std::string& model, const std::string& source,
    const std::vector<chat::ChatMessage>& messages, const std::string& parameters_json) {
  const std::int64_t user = request.caller.user_id;
  if (user == 0 || messages.empty() || store_refused(request)) return nullptr;
  if (!db::UserSettingsStore(db).get(user).store_conversations) return nullptr;
  db::Conversations conversations(db);
  std::int64_t id = 0;
  std::size_t already = 0;  // request messages the conversation holds

  if (const std::string_view given = request.header("x-hearth-conversation-id"); !given.empty()) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), n);
    if (ec != std::errc() || end != given.data() + given.size() || n <= 0)
      throw Error(ErrorKind::invalid_input, "header X-Hearth-Conversation-Id must be a conversation id");
    if (!conversations.find(user, n))
      throw Error(ErrorKind::not_found, "conversation " + std::to_string(n) + " not found");
    const auto live = conversations.messages(user, n);
    id = n;
    already = is_prefix(live, messages) ? live.size() : 0;
    if (already > 0 && already < messages.size())
      if (const db::Message* answer = last_answer(live)) {
        conversations.mark_continued(user, answer->id);
        rescore(db, user, answer->id);
      }
  } else {
    for (const auto& c : conversations.recent(user, model, kSearched)) {
      const auto live = conversations.messages(user, c.id);
      if (live.empty()) continue;
      if (live.size() < messages.size() && is_prefix(live, messages) && has_user_message(messages, live.size())) {
        id = c.id;  // rule 2: continued
        already = live.size();
        if (const db::Message* answer = last_answer(live)) {
          conversations.mark_continued(user, answer->id);
          rescore(db, user, answer->id);
        }
        break;
      }
      if (live.size() == messages.size() + 1 && live.back().role == "assistant" &&
          is_prefix(std::vector<db::Message>(live.begin(), live.end() - 1), messages)) {
        id = c.id;  // rule 3: regenerated
        already = messages.size();
        conversations.mark_regenerated(user, live.back().id);
        conversations.retire(user, live.back().id);
        rescore(db, user, live.back().id);
        break;
      }
    }
  }
  if (id == 0) {
    id = conversations
             .create({.user_id = user, .model = model, .source = source, .title = title_of(messages),
                      .parameters = parameters_json})
             .id;
  }
  for (std::size_t i = already; i < messages.size(); ++i)
    conversations.add_message(user, id, {.role = messages[i].role, .content = messages[i].content});
  return std::shared_ptr<ConversationCapture>(new ConversationCapture(db, user, id, model));
}

std::int64_t ConversationCapture::finish(const std::string& answer, const Timings& timings) {
  try {
    db::Conversations conversations(db_);
    const db::Message m = conversations.add_message(
        user_id_, conversation_id_,
        {.role = "assistant",
         .content = answer,
         .model = model_,
         .prompt_tokens = timings.prompt_tokens,
         .completion_tokens = timings.completion_tokens,
         .duration_ms = timings.total_ns / 1'000'000});
    rescore(db_, user_id_, m.id);
    return m.id;
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not keep the answer in conversation {}: {}", conversation_id_, e.what());
    return 0;
  }
}

}  // namespace hearth::server
