// The merge loop shared by both encoders: a text cut into symbols (a doubly linked list over a
// vector), candidate pairs of neighbours in a priority queue, and repeated merging of the best
// pair — highest priority first, the leftmost pair on ties. A pair whose symbols changed since it
// was queued is recognised by its length and skipped, so every step is O(log n) and a whole text
// O(n log n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <queue>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

struct Symbol {
  int32_t prev = -1;  // -1: none
  int32_t next = -1;
  size_t start = 0;  // byte range in the text; length 0 once merged into its left neighbour
  size_t length = 0;
};

// Links `symbols` (already filled with consecutive byte ranges) into a list.
inline void link_symbols(std::vector<Symbol>& symbols) {
  const auto n = static_cast<int32_t>(symbols.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
}

// `priority(left, right)` gives the priority of merging two neighbouring symbol texts, or
// nullopt when they may not merge. After the call, the live symbols are those reached from
// symbols[0] through `next` (symbol 0 is never merged away).
template <class PriorityFn>
void merge_symbols(std::string_view text, std::vector<Symbol>& symbols, PriorityFn priority) {
  struct Candidate {
    double priority;
    int32_t left;
    int32_t right;
    size_t length;
  };
  auto worse = [](const Candidate& a, const Candidate& b) {
    return a.priority < b.priority || (a.priority == b.priority && a.left > b.left);
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(worse)> queue(worse);

  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    std::optional<double> p =
        priority(text.substr(l.start, l.length), text.substr(r.start, r.length));
    if (p) queue.push({*p, left, right, l.length + r.length});
  };

  for (size_t i = 1; i < symbols.size(); ++i) {
    consider(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& l = symbols[c.left];
    Symbol& r = symbols[c.right];
    // Lengths only grow, so an unchanged total means both symbols are as they were queued.
    if (l.length == 0 || r.length == 0 || l.length + r.length != c.length) continue;
    l.length += r.length;
    r.length = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = c.left;
    consider(l.prev, c.left);
    consider(c.left, l.next);
  }
}

}  // namespace hearth::tokenizer
