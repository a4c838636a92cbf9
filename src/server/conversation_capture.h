// Keeping the chats that pass through the server (issue: conversations and feedback).
//
// A conversation's messages form a tree (db/conversations.h): each message has a parent, an
// answer that was regenerated stays beside the answer that replaced it, and the conversation
// shows one branch (root to its current leaf).
//
// Which conversation a chat request belongs to — the rule, in order:
//   1. The conversation id, given as header `X-Hearth-Conversation-Id: N`, as body field
//      `"hearth": {"conversation_id": N}` or as body field `"conversation_id": N` (when given
//      twice the values must agree): that conversation of the caller (404 otherwise). The
//      request's messages are followed down the tree from a root (preferring the current
//      branch where two children are equal):
//        - all of them found, the last one a question: a regeneration. Its current (else newest)
//          answer is marked "regenerated" and stays as an alternative; the new answer becomes
//          its sibling and the current leaf.
//        - the rest not found: added under the last message found (a root when none was), the
//          new branch becoming the current one; when that message is an answer it is marked
//          "continued".
//   2. Without an id, continuation by the complete previous exchange: the caller's newest
//      conversation with this model whose current branch ends with an answer and is a strict
//      prefix of the request's messages (same roles and contents, the system prompt included),
//      the rest holding at least one user message. The rest is added; that answer is marked
//      "continued".
//   3. Without an id, regeneration only of a later turn: the caller's newest conversation with
//      this model whose current branch, without its last answer, equals the request's messages
//      exactly AND those messages already hold an earlier answer (a complete exchange). A
//      first answer is regenerated only with the id: a request holding no answer (["Hi"]) can
//      never be told apart from a new chat that starts the same way.
//   4. Otherwise a new conversation holding all of the request's messages. So two chats that
//      both begin with "Hi" are two conversations; two chats whose whole histories are equal
//      cannot be told apart without the id (a client that cares sends it).
// Only the 20 most recently updated conversations are searched for 2 and 3.
//
// When: begin() only reads (it decides, and refuses a bad id before anything runs); nothing is
// written until the scheduler has accepted the request and the first token (or the end) comes
// (commit()), so a request refused for its content — a prompt longer than the context, an empty
// prompt, a model that cannot load — stores nothing. The answer is added when the generation
// ends, with its token counts and time. An error after output began leaves the request's
// messages without an answer. A request for several choices (OpenAI's `n`) keeps the first
// choice's answer (index 0), once every choice has ended; the others are not stored.
//
// Where: begin() runs in the route's handler, on the server's handler pool (never the I/O
// thread). commit() and finish() may wait on the database, so run_generation (inference.h)
// calls them on the API's background thread, never on a model's loop: a kept chat's events
// pass through that thread in order, and its head (with the conversation id) and final JSON
// (with the message id) go out once the write is done. A chat that is not kept goes straight
// from the model's loop to its connection and never waits on the database. The request's side
// is stored in one transaction (nothing half-written), and a write that SQLite refuses because
// another process kept it locked past its busy timeout is tried again: a kept chat waits.
//
// Nothing is stored when the caller's settings turn storing off or the request carries
// `X-Hearth-Store: false` (or 0 / no / off). The ids go back to the client in
// `X-Hearth-Conversation-Id` (and, for whole answers, `X-Hearth-Message-Id`) and in a "hearth"
// object of the final JSON: {"conversation_id": N, "message_id": M}, which the feedback API takes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/conversations.h"
#include "engine/chat/chat_template.h"
#include "server/json_util.h"
#include "server/scheduler.h"
#include "server/server.h"

namespace hearth::server {

class ConversationCapture {
 public:
  // Decides where the request goes (see the rule above) without storing anything; nullptr when
  // nothing is to be stored. Error(not_found) for a conversation id that is not the caller's;
  // Error(invalid_input) for one that is not a positive integer or two ids that differ.
  static std::shared_ptr<ConversationCapture> begin(const db::Database& db, const Request& request,
                                                    const json::object& body,
                                                    const std::string& model,
                                                    const std::string& source,
                                                    const std::vector<chat::ChatMessage>& messages,
                                                    const std::string& parameters_json);

  // Stores the request's side (once; later calls return the same): call it when the request
  // was accepted and output is about to go out. Returns the conversation id, or 0 when it could
  // not be stored (logged: the client still gets its answer, only without ids).
  std::int64_t commit();
  std::int64_t conversation_id() const { return conversation_id_; }  // 0 until committed
  // Stores the answer (called once, when the generation is done; commits first when needed);
  // returns its message id, or 0 when it could not be stored (logged).
  std::int64_t finish(const std::string& answer, const std::string& reasoning,
                      const Timings& timings);

  // What begin() decided; the write side of it is commit().
  struct Plan {
    std::int64_t conversation_id = 0;         // 0: a new conversation
    std::optional<std::int64_t> anchor{};     // the first new message's parent; none: a root
    std::vector<chat::ChatMessage> to_add{};  // the request's messages not stored yet
    std::int64_t continued_id = 0;            // an answer to mark continued (0: none)
    std::int64_t regenerated_id = 0;          // an answer to mark regenerated (0: none)
  };

 private:
  ConversationCapture(db::Database db, std::int64_t user_id, std::string model,
                      db::NewConversation fresh, Plan plan)
      : db_(std::move(db)),
        user_id_(user_id),
        model_(std::move(model)),
        fresh_(std::move(fresh)),
        plan_(std::move(plan)) {}

  db::Database db_;
  std::int64_t user_id_;
  std::string model_;
  db::NewConversation fresh_;  // what a new conversation is created with
  Plan plan_;
  bool committed_ = false;
  std::int64_t conversation_id_ = 0;
  std::optional<std::int64_t> answer_parent_{};  // where the answer goes, once committed
};

// Whether a request asks not to be stored (X-Hearth-Store: false / 0 / no / off).
bool store_refused(const Request& request);

}  // namespace hearth::server
