// Training data for server tests, written straight into HEARTH_HOME's SQLite database: `n`
// conversations of `user` with the model "llama3-f16:latest", each answer rated 5.
#pragma once

#include <filesystem>
#include <string>

#include "db/conversations.h"
#include "db/db.h"

namespace hearth::test {

inline void add_rated_conversations(const std::filesystem::path& home, const std::string& user,
                                    int n) {
  db::Database database = db::Database::open("sqlite://" + (home / "hearth.db").string());
  const std::int64_t id = db::Users(database).find_by_name(user)->id;
  db::Conversations conversations(database);
  for (int i = 0; i < n; ++i) {
    auto c = conversations.create({.user_id = id, .model = "llama3-f16:latest", .source = "openai"});
    conversations.add_message(id, c.id, {.role = "user", .content = "tell me about " + std::to_string(i)});
    auto a = conversations.add_message(
        id, c.id, {.role = "assistant", .content = "It is number " + std::to_string(i) + "."});
    db::FeedbackStore(database).upsert(id, a.id, {.rating = 5});
  }
}

}  // namespace hearth::test
