// Inside the data module: turning a user's conversations into training examples, shared by
// export_dataset() and readiness() so that both count exactly the same examples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/conversations.h"

namespace hearth::data::detail {

struct Example {
  std::int64_t conversation_id = 0;
  std::string model;                // the conversation's model
  std::string line;                 // {"messages":[...]} as one JSON line, without the newline
  std::int64_t weighted_turns = 0;  // assistant turns with weight 1 (at least 1)
};

struct ExampleFilter {
  double min_score = 0.7;
  std::string model;  // "" = every model
  std::optional<db::Timestamp> since;
  bool redact = false;
  bool keep_thinking = false;  // ExportOptions::keep_thinking
};

struct Examples {
  std::vector<Example> list;  // qualifying, oldest conversation first, duplicates removed
  std::int64_t duplicates_removed = 0;
};

// Only conversations the user allows for training (the conversation's opt-in, else the user's
// setting); the first of identical examples (after redaction) is kept.
Examples collect_examples(const db::Database& db, std::int64_t user_id, const ExampleFilter& f);

}  // namespace hearth::data::detail
