// See reply_parser.h.
#include "engine/chat/reply_parser.h"

#include <boost/json.hpp>

namespace hearth::chat {
namespace {

namespace json = boost::json;

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kCallOpen = "<tool_call>";
constexpr std::string_view kCallClose = "</tool_call>";
constexpr std::string_view kMistralCalls = "[TOOL_CALLS]";
constexpr std::string_view kPythonTag = "<|python_tag|>";
constexpr std::string_view kBlank = " \t\r\n";

std::string_view ltrim(std::string_view s) {
  const size_t i = s.find_first_not_of(kBlank);
  return i == std::string_view::npos ? std::string_view() : s.substr(i);
}

// How many bytes at the end of `s` could begin `marker` (a partial marker to hold back).
size_t partial_tail(std::string_view s, std::string_view marker) {
  for (size_t n = std::min(s.size(), marker.size() - 1); n > 0; --n)
    if (marker.starts_with(s.substr(s.size() - n))) return n;
  return 0;
}

// One call object: {"name": "...", "arguments" or "parameters": {...} or a string holding one}.
bool read_call(const json::value& v, ToolCall& call) {
  if (!v.is_object()) return false;
  const auto& o = v.get_object();
  const auto* name = o.if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty()) return false;
  const json::value* args = o.if_contains("arguments");
  if (!args) args = o.if_contains("parameters");
  json::value parsed = json::object{};
  if (args && args->is_string()) {
    boost::system::error_code ec;
    parsed = json::parse(args->get_string(), ec);
    if (ec) return false;
  } else if (args) {
    parsed = *args;
  }
  if (!parsed.is_object()) return false;
  call.name = std::string(name->get_string());
  call.arguments = json::serialize(parsed);
  if (const auto* id = o.if_contains("id"); id && id->is_string()) call.id = id->get_string();
  return true;
}

bool parse_value(std::string_view text, json::value& v) {
  boost::system::error_code ec;
  v = json::parse(text, ec);
  return !ec;
}

}  // namespace

void ReplyDelta::append(ReplyDelta&& more) {
  content += more.content;
  reasoning += more.reasoning;
  for (auto& c : more.tool_calls) tool_calls.push_back(std::move(c));
}

ReplyParser::ReplyParser(ChatFormat format, const ChatOptions& options)
    : style_(tool_style(format)),
      tools_(options.offers_tools()),
      forced_(options.forced()),
      phase_(opens_thinking(format, options) ? Phase::thinking : Phase::start) {
  if (forced_) phase_ = Phase::whole_json;
}

std::vector<ToolCall> ReplyParser::parse_calls(ToolStyle style, std::string_view text, bool* ok) {
  std::vector<ToolCall> calls;
  *ok = false;
  text = ltrim(text);
  if (text.starts_with(kPythonTag)) text.remove_prefix(kPythonTag.size());
  if (text.starts_with(kMistralCalls)) text.remove_prefix(kMistralCalls.size());
  json::value v;
  if (parse_value(text, v)) {
    if (v.is_array()) {
      for (const auto& item : v.get_array()) {
        ToolCall call;
        if (!read_call(item, call)) return {};
        calls.push_back(std::move(call));
      }
      *ok = !calls.empty();
      return *ok ? calls : std::vector<ToolCall>{};
    }
    ToolCall call;
    if (!read_call(v, call)) return {};
    calls.push_back(std::move(call));
    *ok = true;
    return calls;
  }
  // Llama 3 writes several calls separated by ";".
  if (style != ToolStyle::llama3) return {};
  size_t from = 0;
  while (from <= text.size()) {
    const size_t semi = text.find(';', from);
    const std::string_view part = text.substr(from, semi == std::string_view::npos ? semi : semi - from);
    ToolCall call;
    if (!parse_value(part, v) || !read_call(v, call)) return {};
    calls.push_back(std::move(call));
    if (semi == std::string_view::npos) break;
    from = semi + 1;
  }
  *ok = !calls.empty();
  return calls;
}

ReplyDelta ReplyParser::push(std::string_view text) {
  buf_ += text;
  ReplyDelta out;
  run(out, false);
  return out;
}

ReplyDelta ReplyParser::finish() {
  ReplyDelta out;
  run(out, true);
  return out;
}

void ReplyParser::run(ReplyDelta& out, bool end) {
  for (;;) {
    switch (phase_) {
      case Phase::start: {
        const std::string_view t = ltrim(buf_);
        if (t.starts_with(kThinkOpen)) {
          buf_.erase(0, buf_.size() - t.size() + kThinkOpen.size());
          phase_ = Phase::thinking;
          continue;
        }
        if (!end && (t.empty() || kThinkOpen.starts_with(t))) return;  // may still be <think>
        phase_ = Phase::answer_start;
        continue;
      }
      case Phase::thinking: {
        if (!reasoning_started_) {
          const std::string_view t = ltrim(buf_);
          buf_.erase(0, buf_.size() - t.size());
        }
        const size_t close = buf_.find(kThinkClose);
        std::string text;
        if (close != std::string::npos) {
          text = buf_.substr(0, close);
          buf_.erase(0, close + kThinkClose.size());
        } else {
          const size_t keep = end ? 0 : partial_tail(buf_, kThinkClose);
          text = buf_.substr(0, buf_.size() - keep);
          buf_.erase(0, buf_.size() - keep);
        }
        // Blanks at the end of the reasoning so far wait: they are dropped if </think> follows.
        const size_t last = text.find_last_not_of(kBlank);
        if (last != std::string::npos) {
          out.reasoning += space_ + text.substr(0, last + 1);
          space_ = text.substr(last + 1);
          reasoning_started_ = true;
        } else if (reasoning_started_) {
          space_ += text;
        }
        if (close == std::string::npos) return;
        space_.clear();
        phase_ = Phase::answer_start;
        after_call_ = true;  // the blank line after </think> is not part of the answer
        continue;
      }
      case Phase::answer_start:
        if (!answer_start(out, end)) return;
        continue;
      case Phase::answer:
        answer(out, end);
        if (phase_ == Phase::answer) return;
        continue;
      case Phase::call_block: {
        const size_t close = buf_.find(kCallClose);
        if (close == std::string::npos && !end) return;
        const std::string body = buf_.substr(0, close);
        bool ok = false;
        auto calls = parse_calls(ToolStyle::chatml, body, &ok);
        if (ok) {
          for (auto& c : calls) out.tool_calls.push_back(std::move(c));
        } else {
          out.content += std::string(kCallOpen) + body +
                         (close == std::string::npos ? "" : std::string(kCallClose));
        }
        buf_.erase(0, close == std::string::npos ? buf_.size() : close + kCallClose.size());
        after_call_ = true;
        phase_ = Phase::answer;
        if (end && buf_.empty()) return;
        continue;
      }
      case Phase::whole_json: {
        if (!end) return;
        bool ok = false;
        auto calls = parse_calls(style_, buf_, &ok);
        if (ok) {
          for (auto& c : calls) out.tool_calls.push_back(std::move(c));
        } else {
          out.content += buf_;
        }
        buf_.clear();
        return;
      }
    }
  }
}

// Right after <think>...</think> (or at the start): decides whether the answer is a llama3 or
// Mistral call written as bare JSON. Returns false while it cannot tell yet.
bool ReplyParser::answer_start(ReplyDelta&, bool end) {
  const std::string_view t = ltrim(buf_);
  if (!tools_ || style_ == ToolStyle::chatml || style_ == ToolStyle::generic) {
    phase_ = Phase::answer;
    return true;
  }
  if (t.empty() && !end) return false;
  if (style_ == ToolStyle::llama3) {
    if (!end && t.size() < kPythonTag.size() && kPythonTag.starts_with(t) && t != "{") return false;
    phase_ = t.starts_with("{") || t.starts_with(kPythonTag) ? Phase::whole_json : Phase::answer;
    return true;
  }
  // Mistral: "[TOOL_CALLS]" (when the control token's text shows) or a bare "[{".
  if (!end && (kMistralCalls.starts_with(t) || t == "[" || (t.starts_with("[") && ltrim(t.substr(1)).empty())))
    return false;
  const bool call = t.starts_with(kMistralCalls) ||
                    (t.starts_with("[") && ltrim(t.substr(1)).starts_with("{"));
  phase_ = call ? Phase::whole_json : Phase::answer;
  return true;
}

void ReplyParser::answer(ReplyDelta& out, bool end) {
  if (after_call_) {
    const std::string_view t = ltrim(buf_);
    if (t.empty() && !end) {
      buf_.clear();
      return;
    }
    buf_.erase(0, buf_.size() - t.size());
    after_call_ = false;
  }
  const bool calls = tools_ && (style_ == ToolStyle::chatml || style_ == ToolStyle::generic);
  if (!calls) {
    out.content += buf_;
    buf_.clear();
    return;
  }
  const size_t open = buf_.find(kCallOpen);
  if (open != std::string::npos) {
    // Blanks before a call are not part of the answer either.
    std::string_view before(buf_.data(), open);
    const size_t last = before.find_last_not_of(kBlank);
    out.content += std::string(before.substr(0, last == std::string_view::npos ? 0 : last + 1));
    buf_.erase(0, open + kCallOpen.size());
    phase_ = Phase::call_block;
    return;
  }
  // Held back: a possible start of <tool_call>, and the blanks before it (dropped if a call
  // follows).
  size_t cut = buf_.size();
  if (!end) {
    cut -= partial_tail(buf_, kCallOpen);
    while (cut > 0 && kBlank.find(buf_[cut - 1]) != std::string_view::npos) --cut;
  }
  out.content += buf_.substr(0, cut);
  buf_.erase(0, cut);
}

}  // namespace hearth::chat
