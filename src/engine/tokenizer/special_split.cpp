#include "engine/tokenizer/special_split.h"

namespace hearth::tokenizer {

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Splits the text fragment [pos, end) at every occurrence of `token`, appending to `out`.
void split_fragment(std::string_view text, size_t pos, size_t end, int32_t token,
                    std::string_view token_text, uint8_t strip, std::vector<Fragment>& out) {
  while (true) {
    const size_t match = text.substr(0, end).find(token_text, pos);
    if (match == std::string_view::npos) {
      if (end > pos) out.push_back({kNoToken, pos, end - pos});
      return;
    }
    size_t left_end = match;
    if (strip & strip_left) {
      while (left_end > pos && is_ascii_space(text[left_end - 1])) --left_end;
    }
    if (left_end > pos) out.push_back({kNoToken, pos, left_end - pos});
    out.push_back({token, 0, 0});
    pos = match + token_text.size();
    if (strip & strip_right) {
      while (pos < end && is_ascii_space(text[pos])) ++pos;
    }
  }
}

}  // namespace

std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({kNoToken, 0, text.size()});

  std::vector<Fragment> next;
  for (int32_t id : vocab.special_tokens) {
    const TokenType type = vocab.types[id];
    if (!parse_special && (type == TokenType::control || type == TokenType::unknown)) continue;
    const std::string_view token_text = vocab.texts[id];
    // Most tokens occur nowhere; rebuild the list only when this one does.
    bool any = false;
    for (const Fragment& f : fragments) {
      if (f.token == kNoToken &&
          text.substr(f.offset, f.length).find(token_text) != std::string_view::npos) {
        any = true;
        break;
      }
    }
    if (!any) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token != kNoToken) {
        next.push_back(f);
      } else {
        split_fragment(text, f.offset, f.offset + f.length, id, token_text, vocab.strip[id], next);
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace hearth::tokenizer
