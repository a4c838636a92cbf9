// The regular expressions that JSON Schema's `pattern` and `format` constrain strings with,
// compiled to a Thompson NFA over the bytes a constrained string may hold.
//
// Shape: the pattern is parsed into a small tree and instantiated as NFA states (a byte class
// and one successor, or up to two empty moves). A running match is the set of live states,
// kept as a bit string (std::string, so it sits inside a checker frame and copies cheaply).
// The alphabet is printable ASCII without '"' and '\' (strings with a pattern are written with
// no escapes), so '.' and negated classes mean "any of those". Supported: literals, '.',
// classes with ranges and negation, \d \D \w \W \s \S and escaped punctuation, groups (plain,
// (?:...)), '|', quantifiers * + ? {n} {n,} {n,m} (a lazy '?' suffix is accepted and means the
// same here), '^' at the start and '$' at the end. A pattern without '^' may have any text
// before its match and one without '$' any text after, as JSON Schema's search semantics say.
// Anything else (back-references, look-around, \b, \p{..}, anchors inside) is refused.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::generate {

class JsonRegex {
 public:
  // Throws hearth::Error(unsupported) naming what it cannot compile, or invalid_input when the
  // pattern is malformed.
  explicit JsonRegex(std::string_view pattern);

  std::string start() const;  // the live set before any byte
  // The live set after byte c (empty string: no state left, the byte does not fit).
  std::string step(const std::string& set, unsigned char c) const;
  bool accepts(const std::string& set) const;
  static bool in_alphabet(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

  // The shortest text that, appended to a string at `set` with `length` characters so far, ends
  // in an accepting set with min_len <= total length <= max_len; nullopt when none does.
  std::optional<std::string> shortest(const std::string& set, int length, int min_len,
                                      int max_len) const;

  size_t size() const { return states_.size(); }

  struct Tree;  // the parsed pattern (json_regex.cpp)

 private:
  struct State {
    std::array<uint64_t, 2> cls{};  // bytes 0..127 this state moves on
    int next = -1;                  // where a byte in cls leads
    int eps1 = -1, eps2 = -1;       // empty moves
  };
  struct Frag {
    int start, end;
  };

  int add();
  Frag build(const Tree& t);
  Frag build_class(const std::array<uint64_t, 2>& cls);
  void close(std::string& set, int s) const;  // adds s and its empty-move closure

  std::vector<State> states_;
  int start_ = 0, accept_ = 0;
};

}  // namespace hearth::generate
