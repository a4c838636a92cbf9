// Helpers for the pre-tokenizer tests: split with the invariants every split keeps checked, and
// compare against pieces worked out by hand.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/pretokenize.h"

namespace hearth::tokenizer::test {

using Pieces = std::vector<std::string>;

// Splits and checks the invariants every split must keep: pieces are non-empty, contiguous views
// into the input, in order, covering all of it.
inline Pieces split_checked(const PreTokenizer& pre, std::string_view text) {
  const std::vector<std::string_view> views = pre.split(text);
  const char* next = text.data();
  for (std::string_view piece : views) {
    EXPECT_FALSE(piece.empty());
    EXPECT_EQ(piece.data(), next) << "pieces must be contiguous views into the input";
    next = piece.data() + piece.size();
  }
  EXPECT_EQ(next, text.data() + text.size()) << "pieces must cover the whole input";
  return Pieces(views.begin(), views.end());
}

struct Case {
  std::string_view text;
  Pieces pieces;
};

inline void expect_splits(PreTokenizerKind kind, const std::vector<Case>& cases) {
  const PreTokenizer pre(kind);
  EXPECT_EQ(pre.kind(), kind);
  for (const Case& c : cases) {
    EXPECT_EQ(split_checked(pre, c.text), c.pieces) << "input: \"" << c.text << "\"";
  }
}

}  // namespace hearth::tokenizer::test
