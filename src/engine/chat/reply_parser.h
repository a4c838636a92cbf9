// A model's streamed answer split into what clients want apart: the reasoning (the text inside
// <think>...</think> at the start), the answer, and the tool calls in the format's style (tools.h).
//
// Shape: push() takes each piece of generated text as it comes and returns what is certain now;
// text that may still turn out to be a marker ("<thi", "<tool_c", a llama3 answer that opens with
// "{") is held back until the next piece or finish() decides. Reasoning loses the blanks around
// it, the answer loses the blanks that separate it from the reasoning and from calls. A call
// that does not parse (invalid JSON, no name) comes back as answer text, as the model wrote it.
// With a forced call (ChatOptions::forced) the whole output is the call's JSON (its opening was
// in the prompt). Without tools and without a leading <think>, text passes through unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/tools.h"

namespace hearth::chat {

struct ReplyDelta {
  std::string content;
  std::string reasoning;
  std::vector<ToolCall> tool_calls;  // complete calls (ids left empty for the server to give)
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
  void append(ReplyDelta&& more);
};

class ReplyParser {
 public:
  ReplyParser(ChatFormat format, const ChatOptions& options);

  ReplyDelta push(std::string_view text);
  // The end of the output: everything held back comes out (an unfinished call that parses is a
  // call; reasoning cut off before </think> stays reasoning).
  ReplyDelta finish();

  // The calls in a complete text in this style (exposed for tests): nullopt-like empty result
  // when the text is not a call.
  static std::vector<ToolCall> parse_calls(ToolStyle style, std::string_view text, bool* ok);

 private:
  enum class Phase { start, thinking, answer_start, answer, call_block, whole_json };
  void run(ReplyDelta& out, bool end);
  bool answer_start(ReplyDelta& out, bool end);
  void answer(ReplyDelta& out, bool end);

  ToolStyle style_;
  bool tools_;   // tools were offered: look for calls
  bool forced_;  // the whole output is a call
  Phase phase_;
  std::string buf_;          // received, not yet given out
  std::string space_;        // reasoning: trailing blanks held until more reasoning follows
  bool reasoning_started_ = false;  // leading blanks of the reasoning are dropped
  bool after_call_ = false;  // blanks right after a call are dropped
};

}  // namespace hearth::chat
