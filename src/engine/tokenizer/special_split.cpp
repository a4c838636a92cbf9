#include "engine/tokenizer/special_split.h"

#include <algorithm>

namespace hearth::tokenizer {

namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// Splits the text fragment [pos, end) at every occurrence of `token` that `accept(offset)` lets
// through, appending to `out`; refused occurrences stay in the text.
template <class Accept>
void split_fragment(std::string_view text, size_t pos, size_t end, int32_t token,
                    std::string_view token_text, uint8_t strip, const Accept& accept,
                    std::vector<Fragment>& out) {
  size_t from = pos;
  while (true) {
    const size_t match = text.substr(0, end).find(token_text, from);
    if (match == std::string_view::npos) {
      if (end > pos) out.push_back({kNoToken, pos, end - pos});
      return;
    }
    if (!accept(match)) {
      from = match + 1;
      continue;
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
    from = pos;
  }
}

// The shared loop: every special token `take(id)` allows, longest first, splits the fragments
// at the occurrences `accept(id, offset)` allows.
template <class Take, class Accept>
std::vector<Fragment> split(const Vocab& vocab, std::string_view text, const Take& take,
                            const Accept& accept) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({kNoToken, 0, text.size()});

  std::vector<Fragment> next;
  for (int32_t id : vocab.special_tokens) {
    if (!take(id)) continue;
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
    const auto accept_here = [&](size_t offset) { return accept(id, offset); };
    for (const Fragment& f : fragments) {
      if (f.token != kNoToken) {
        next.push_back(f);
      } else {
        split_fragment(text, f.offset, f.offset + f.length, id, token_text, vocab.strip[id],
                       accept_here, next);
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace

std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special) {
  const auto take = [&](int32_t id) {
    const TokenType type = vocab.types[id];
    return parse_special || (type != TokenType::control && type != TokenType::unknown);
  };
  return split(vocab, text, take, [](int32_t, size_t) { return true; });
}

std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text,
                                    std::span<const PromptText::Span> plain) {
  const auto accept = [&](int32_t id, size_t offset) {
    const size_t end = offset + vocab.texts[id].size();
    // The first plain span that ends after the occurrence starts.
    const auto it = std::upper_bound(
        plain.begin(), plain.end(), offset,
        [](size_t o, const PromptText::Span& s) { return o < s.offset + s.length; });
    if (it == plain.end() || it->offset >= end) return true;  // all markup
    return it->offset <= offset && end <= it->offset + it->length && vocab.plain_ok[id] != 0;
  };
  return split(vocab, text, [](int32_t) { return true; }, accept);
}

}  // namespace hearth::tokenizer
