// Prompt text that remembers who wrote each byte, so that text from a message never becomes a
// control token (Tokenizer::encode(const PromptText&, bool)).
//
// A prompt is assembled from two kinds of pieces:
//   - markup: what the program writes on purpose (a chat template's role headers and end-of-turn
//     markers, the BOS text, a prompt the caller marks as raw). Special-token text in it becomes
//     those special tokens, as encode(text, add_special, parse_special = true) does.
//   - plain: what a person or a file supplied (message content, system text, a training
//     example's answer). Special-token text in it stays text: control and unknown-type tokens are
//     never recognised in it, nor user-defined tokens that are markup (Tokenizer::is_markup()).
//     Other user-defined tokens (single characters some vocabularies add) still are, as when
//     the model was trained.
// The text is one string, tokenized as one: pieces are not tokenized separately, so a prompt
// without special-token text in its plain pieces gives exactly the tokens of the whole string
// with parse_special = true.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

class PromptText {
 public:
  struct Span {
    size_t offset = 0;
    size_t length = 0;
  };

  PromptText() = default;
  // A prompt that is all markup (a raw prompt) or all plain text.
  static PromptText of_markup(std::string_view text) { return PromptText().markup(text); }
  static PromptText of_plain(std::string_view text) { return PromptText().plain(text); }

  PromptText& markup(std::string_view text) {
    text_.append(text);
    return *this;
  }
  PromptText& plain(std::string_view text) {
    if (text.empty()) return *this;
    if (!plain_.empty() && plain_.back().offset + plain_.back().length == text_.size()) {
      plain_.back().length += text.size();  // adjacent plain pieces form one span
    } else {
      plain_.push_back({text_.size(), text.size()});
    }
    text_.append(text);
    return *this;
  }
  PromptText& append(const PromptText& other) {
    const size_t base = text_.size();
    for (const Span& s : other.plain_) {
      if (!plain_.empty() && plain_.back().offset + plain_.back().length == base + s.offset) {
        plain_.back().length += s.length;
      } else {
        plain_.push_back({base + s.offset, s.length});
      }
    }
    text_.append(other.text_);
    return *this;
  }

  const std::string& text() const { return text_; }
  // The plain pieces' bytes in text(): in order, non-empty, never adjacent nor overlapping.
  const std::vector<Span>& plain_spans() const { return plain_; }
  bool empty() const { return text_.empty(); }

 private:
  std::string text_;
  std::vector<Span> plain_;
};

}  // namespace hearth::tokenizer
