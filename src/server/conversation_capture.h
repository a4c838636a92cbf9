// Keeping the chats that pass through the server (issue: conversations and feedback).
//
// Which conversation a chat request belongs to — the rule, in order:
//   1. Header `X-Hearth-Conversation-Id: N`: that conversation of the caller (404 otherwise); the
//      request's messages after the ones it already holds are added.
//   2. Continuation: the caller's newest conversation with this model whose live messages are
//      a strict prefix of the request's messages (same roles and contents), the rest holding at
//      least one user message. Those new messages are added and the conversation's last answer
//      is marked "continued".
//   3. Regeneration: the caller's newest conversation with this model whose live messages,
//      without their last (an assistant answer), equal the request's messages. That answer is
//      marked "regenerated" and leaves the live history; the new answer takes its place.
//   4. Otherwise a new conversation holding all of the request's messages.
// Only the 20 most recently updated conversations are searched for 2 and 3.
//
// Nothing is stored when the caller's settings turn storing off or the request carries
// `X-Hearth-Store: false` (or 0 / no / off). The answer is added when the generation ends, with
// its token counts and time; the ids go back to the client in `X-Hearth-Conversation-Id` (and,
// for whole answers, `X-Hearth-Message-Id`) and in a "hearth" object of the final JSON:
// {"conversation_id": N, "message_id": M}, which the feedback API takes.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "db/conversations.h"
#include "engine/chat/chat_template.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace hearth::server {

class ConversationCapture {
 public:
  // Decides and stores the request's side (see the rule above); nullptr when nothing is stored.
  // Error(not_found) for an X-Hearth-Conversation-Id that is not the caller's; Error(invalid_input)
  // for one that is not a number.
  static std::shared_ptr<ConversationCapture> begin(const db::Database& db, const Request& request,
                                                    const std::string& model, const std::string& source,
                                                    const std::vector<chat::ChatMessage>& messages,
                                                    const std::string& parameters_json);

  std::int64_t conversation_id() const { return conversation_id_; }
  // Stores the answer (called once, when the generation is done); returns its message id, or 0
  // when it could not be stored (logged: the client already has its answer).
  std::int64_t finish(const std::string& answer, const Timings& timings);

 private:
  ConversationCapture(db::Database db, std::int64_t user_id, std::int64_t conversation_id,
                      std::string model)
      : db_(std::move(db)), user_id_(user_id), conversation_id_(conversation_id), model_(std::move(model)) {}

  db::Database db_;
  std::int64_t user_id_;
  std::int64_t conversation_id_;
  std::string model_;
};

// Whether a request asks not to be stored (X-Hearth-Store: false / 0 / no / off).
bool store_refused(const Request& request);

}  // namespace hearth::server
