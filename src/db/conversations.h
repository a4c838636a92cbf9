// Conversations, their messages, feedback on answers, per-user settings and exported dataset
// versions (the tables behind the data/ module; see db.h for representation, errors, threads).
//
// Every row belongs to a user and every read is scoped: a conversation or message of another
// user is not found (nullopt / Error(not_found)), exactly like a missing one.
//
//   db::Conversations conversations(db);
//   auto c = conversations.create({.user_id = u, .model = "tiny:latest", .source = "openai"});
//   auto m = conversations.add_message(u, c.id, {.role = "user", .content = "Hi"});
//
// Messages form a tree: each has a parent (the message it answers or follows; none for the
// first), so an answer that was regenerated stays beside the one that replaced it. A
// conversation shows one branch, from a root to its current leaf (current_message_id): every
// add_message makes the new message that leaf.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.h"

namespace hearth::db {

// ---- per-user settings -----------------------------------------------------------------------

struct UserSettings {
  std::int64_t user_id = 0;
  bool store_conversations = true;  // keep chats that pass through the server
  bool training_opt_in = false;     // may kept chats become training data (per-conversation override)
  // Where chats run (server/routing.h): "desktop-then-local", "desktop-only" or "local-only";
  // the server checks the value before storing it.
  std::string route_policy = "desktop-then-local";
};

class UserSettingsStore {
 public:
  explicit UserSettingsStore(const Database& db) : db_(db.impl()) {}
  UserSettings get(std::int64_t user_id);  // the defaults above when never set
  void set(const UserSettings& settings);  // Error(not_found) for no such user

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- conversations and messages --------------------------------------------------------------

struct Conversation {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string model{};       // name:tag of the model that answered
  std::string source{};      // "openai", "ollama" or "desktop": the API it came through
  std::string title{};       // the first user message, cut to 80 characters
  std::string parameters{};  // JSON object text: the request's sampling settings
  std::optional<bool> training_opt_in{};  // nullopt: the user's setting decides
  std::int64_t message_count = 0;         // messages on the current branch
  std::optional<std::int64_t> current_message_id{};  // the current branch's leaf; none when empty
  Timestamp created_at{};
  Timestamp updated_at{};
};

struct NewConversation {
  std::int64_t user_id = 0;
  std::string model{};
  std::string source{};
  std::string title{};
  std::string parameters = "{}";
};

struct Message {
  std::int64_t id = 0;
  std::int64_t conversation_id = 0;
  std::optional<std::int64_t> parent_id{};  // the message before it; none for a first message
  int position = 0;       // depth in the tree, from 0 (alternatives share their position)
  std::string role{};     // "system", "user" or "assistant"
  std::string content{};
  std::string reasoning{};  // assistant messages: the model's reasoning, apart ("" when none)
  std::string model{};    // assistant messages: the model that wrote it
  std::int64_t prompt_tokens = 0;      // assistant messages: the request's counts and time
  std::int64_t completion_tokens = 0;
  std::int64_t duration_ms = 0;
  bool regenerated = false;  // the user asked for another answer instead of this one
  bool continued = false;    // the user went on with the conversation after this answer
  std::optional<double> quality_score{};  // assistant messages, in [0, 1] (data/quality.h)
  Timestamp created_at{};
};

struct NewMessage {
  // Where it goes: under this message of the same conversation; nullopt: under the current
  // leaf (appending to the current branch). `root` starts a new branch at the top instead.
  std::optional<std::int64_t> parent_id{};
  bool root = false;
  std::string role{};
  std::string content{};
  std::string model{};
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t duration_ms = 0;
  std::string reasoning{};  // assistant messages: the reasoning apart (last: positional callers)
};

// A chat request's side, as the server keeps it (see Conversations::store_request).
struct RequestSide {
  std::int64_t conversation_id = 0;      // 0: a new conversation made from `fresh`
  NewConversation fresh{};               // its user_id is the caller's
  std::optional<std::int64_t> anchor{};  // the first message's parent; none: a new root
  std::vector<NewMessage> messages{};    // in order, each under the one before (parents ignored)
  std::int64_t continued_id = 0;         // an answer to mark continued (0: none)
  std::int64_t regenerated_id = 0;       // an answer to mark regenerated (0: none)
};

struct StoredRequest {
  std::int64_t conversation_id = 0;
  std::optional<std::int64_t> leaf{};  // the last message stored (the anchor when none were)
};

// What the training dashboard shows of one model's kept data: how much there is, how much was
// rated, and how the answers' quality scores spread (histogram[k] counts scores in
// [k/10, (k+1)/10), the last bucket including 1.0).
struct ModelDataSummary {
  std::string model{};
  std::int64_t conversations = 0;
  std::int64_t answers = 0;  // assistant messages (every branch, regenerated ones included)
  std::int64_t rated = 0;    // answers with feedback
  std::int64_t scored = 0;   // answers with a quality score
  std::array<std::int64_t, 10> histogram{};
};

class Conversations {
 public:
  explicit Conversations(const Database& db) : db_(db.impl()) {}

  Conversation create(const NewConversation& c);  // Error(not_found) for no such user
  std::optional<Conversation> find(std::int64_t user_id, std::int64_t id);
  // Newest (by updated_at) first.
  std::vector<Conversation> list(std::int64_t user_id, std::size_t limit = 100, std::size_t offset = 0);
  // The user's conversations whose title or any message (every branch) holds `text`, ignoring
  // the case of letters (ASCII letters on SQLite; all letters on PostgreSQL); newest first.
  // `text` matches literally: % and _ are not wildcards.
  // Per model (by name, in order): counts and the quality-score histogram of the user's data.
  std::vector<ModelDataSummary> data_summary(std::int64_t user_id);
  std::vector<Conversation> search(std::int64_t user_id, const std::string& text,
                                   std::size_t limit = 100, std::size_t offset = 0);
  // The user's conversations with this model updated since `since`, newest first (for finding
  // the one a request continues).
  std::vector<Conversation> recent(std::int64_t user_id, const std::string& model, std::size_t limit);
  // Every conversation of the user, oldest first, optionally only one model's and only those
  // updated at or after `since` (export).
  std::vector<Conversation> all(std::int64_t user_id, const std::string& model = {},
                                std::optional<Timestamp> since = {});
  bool remove(std::int64_t user_id, std::int64_t id);  // with its messages and feedback
  void set_training_opt_in(std::int64_t user_id, std::int64_t id, std::optional<bool> opt_in);

  // Adds a message under its parent (see NewMessage) and makes it the current leaf; updates the
  // conversation's updated_at and message_count (the new branch's length). Error(not_found)
  // when the conversation is not the user's or the parent is not one of its messages;
  // Error(invalid_input) for a role other than system/user/assistant.
  Message add_message(std::int64_t user_id, std::int64_t conversation_id, const NewMessage& m);
  // Stores a request's side in one transaction, so that a failure leaves nothing of it: the
  // conversation when new, the messages, then the marks. Error(not_found) as add_message.
  StoredRequest store_request(std::int64_t user_id, const RequestSide& side);
  // The current branch, root first. Messages off it (replaced answers, older branches) are
  // left out; every_message and find_message still reach them.
  std::vector<Message> messages(std::int64_t user_id, std::int64_t conversation_id);
  // Every message of the conversation (the whole tree), oldest first.
  std::vector<Message> every_message(std::int64_t user_id, std::int64_t conversation_id);
  std::optional<Message> find_message(std::int64_t user_id, std::int64_t conversation_id,
                                      std::int64_t message_id);
  // The same without knowing the conversation (feedback and rescoring name only the message).
  std::optional<Message> find_message(std::int64_t user_id, std::int64_t message_id);
  void mark_regenerated(std::int64_t user_id, std::int64_t message_id);
  void mark_continued(std::int64_t user_id, std::int64_t message_id);
  void set_quality(std::int64_t user_id, std::int64_t message_id, double score);  // [0, 1]

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- feedback --------------------------------------------------------------------------------

struct Feedback {
  std::int64_t id = 0;
  std::int64_t message_id = 0;
  std::int64_t user_id = 0;
  std::optional<int> thumbs{};  // +1 up, -1 down
  std::optional<int> rating{};  // 1..5
  std::string reason{};
  std::string comment{};
  std::string corrected_answer{};  // the answer the user would have wanted; "" when none
  Timestamp created_at{};
  Timestamp updated_at{};
};

struct NewFeedback {
  std::optional<int> thumbs{};
  std::optional<int> rating{};
  std::string reason{};
  std::string comment{};
  std::string corrected_answer{};
};

class FeedbackStore {
 public:
  explicit FeedbackStore(const Database& db) : db_(db.impl()) {}
  // One feedback per message and user: a second call replaces the first. Error(not_found) when
  // the message is not the user's or not an assistant message; Error(invalid_input) for thumbs
  // other than ±1, a rating outside 1..5, or neither thumbs, rating nor correction.
  Feedback upsert(std::int64_t user_id, std::int64_t message_id, const NewFeedback& f);
  std::optional<Feedback> find(std::int64_t user_id, std::int64_t message_id);
  // Every feedback on the conversation's messages.
  std::vector<Feedback> for_conversation(std::int64_t user_id, std::int64_t conversation_id);

 private:
  std::shared_ptr<Database::Impl> db_;
};

// ---- dataset versions ------------------------------------------------------------------------

struct DatasetVersion {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string content_hash{};  // sha256 hex of train file + validation file
  std::int64_t train_examples = 0;
  std::int64_t validation_examples = 0;
  std::string filter{};  // JSON object text: the export's options
  std::string train_path{};
  std::string validation_path{};
  Timestamp created_at{};
};

class DatasetVersions {
 public:
  explicit DatasetVersions(const Database& db) : db_(db.impl()) {}
  DatasetVersion create(const DatasetVersion& v);  // id and created_at are set here
  std::optional<DatasetVersion> find(std::int64_t user_id, std::int64_t id);
  std::vector<DatasetVersion> list(std::int64_t user_id);  // newest first

 private:
  std::shared_ptr<Database::Impl> db_;
};

}  // namespace hearth::db
