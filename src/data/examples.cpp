// Conversations → examples in OpenAI's chat fine-tuning format (the rules are in data.h).
#include "data/examples.h"

#include <boost/json.hpp>

#include <map>
#include <unordered_set>

#include "core/json_text.h"
#include "data/data.h"

namespace hearth::data::detail {
namespace {

namespace json = boost::json;

// One conversation as an example; nullopt when no assistant turn reaches the threshold.
std::optional<Example> to_example(const db::Conversation& c,
                                  const std::vector<db::Message>& messages,
                                  const std::vector<db::Feedback>& feedback,
                                  const ExampleFilter& f) {
  std::map<std::int64_t, const db::Feedback*> by_message;
  for (const auto& fb : feedback) by_message[fb.message_id] = &fb;

  json::array list;
  std::int64_t weighted = 0;
  std::size_t last_assistant = 0;  // entries up to and including the last answer
  for (const db::Message& m : messages) {
    std::string content = m.content;
    json::object entry{{"role", m.role}};
    if (m.role == "assistant") {
      // The score is computed from the feedback now rather than read from the stored column, so
      // an export can never disagree with the formula (the column is a cache for the API).
      QualityInputs in;
      in.regenerated = m.regenerated;
      in.continued = m.continued;
      auto it = by_message.find(m.id);
      if (it != by_message.end()) {
        in.thumbs = it->second->thumbs;
        in.rating = it->second->rating;
        in.corrected = !it->second->corrected_answer.empty();
        if (in.corrected) content = it->second->corrected_answer;  // the wanted answer
      }
      if (f.keep_thinking && !in.corrected && !m.reasoning.empty() && !content.empty())
        content = "<think>\n" + m.reasoning + "\n</think>\n\n" + content;  // redacted below too
      const bool passes = quality_score(in) > f.min_score;  // above the threshold
      if (f.redact) content = redact_pii(content);
      // An empty message would fail the format's missing_content check: leave it out.
      if (content.empty()) continue;
      entry["content"] = content;
      entry["weight"] = passes ? 1 : 0;
      weighted += passes ? 1 : 0;
      list.push_back(std::move(entry));
      last_assistant = list.size();
      continue;
    }
    if (f.redact) content = redact_pii(content);
    if (content.empty()) continue;
    entry["content"] = content;
    list.push_back(std::move(entry));
  }
  if (weighted == 0) return std::nullopt;
  // Turns after the last answer teach nothing (no target follows them).
  list.erase(list.begin() + static_cast<std::ptrdiff_t>(last_assistant), list.end());
  Example e;
  e.conversation_id = c.id;
  e.model = c.model;
  // One line of the training file: keys in byte order ("content", "role", "weight").
  e.line = format_json(json::object{{"messages", std::move(list)}});
  e.weighted_turns = weighted;
  return e;
}

}  // namespace

Examples collect_examples(const db::Database& db, std::int64_t user_id, const ExampleFilter& f) {
  db::Conversations conversations(db);
  db::FeedbackStore feedback(db);
  const bool user_allows = db::UserSettingsStore(db).get(user_id).training_opt_in;
  Examples out;
  std::unordered_set<std::string> seen;
  for (const db::Conversation& c : conversations.all(user_id, f.model, f.since)) {
    if (!c.training_opt_in.value_or(user_allows)) continue;
    auto example = to_example(c, conversations.messages(user_id, c.id),
                              feedback.for_conversation(user_id, c.id), f);
    if (!example) continue;
    // The line is the messages array exactly as it would be written, so equal lines are
    // duplicates; the oldest conversation keeps it.
    if (!seen.insert(example->line).second) {
      ++out.duplicates_removed;
      continue;
    }
    out.list.push_back(std::move(*example));
  }
  return out;
}

}  // namespace hearth::data::detail
