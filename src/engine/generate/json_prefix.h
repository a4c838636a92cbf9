// An incremental checker for "the text so far can still become one JSON object": a small,
// independent oracle that tests hold generated JSON-mode text against. Sampling itself is
// constrained by JsonSchemaState (json_schema.h), which format = "json" runs with the schema
// {"type":"object"} and with the same whitespace and number limits.
//
// Shape: a pushdown automaton over bytes. feed() takes the next byte and says whether the text
// stays a prefix of some valid JSON document whose top level is an object (leading whitespace
// allowed); complete() turns true when that object has closed, after which nothing more is
// accepted. The state is a small value type: copy it to try a candidate token's text without
// committing. Bytes >= 0x80 are accepted only inside strings (UTF-8 is the detokenizer's job).
// Whitespace between tokens is capped (kMaxLeadingSpace before the object, kMaxSpaceRun in a row
// elsewhere), as llama.cpp's JSON grammar does: otherwise a sampler can spend the whole token
// budget on blanks, which are always valid. Numbers are kept within what a double holds (at most
// kMaxIntDigits before the point, kMaxExpDigits in the exponent), so every JSON reader parses
// the result (many JSON parsers refuse 1e999).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::generate {

class JsonPrefix {
 public:
  // Feeds one byte; false (state unchanged in meaning, the caller discards the copy) when it
  // would break the JSON.
  bool feed(unsigned char c);
  // Feeds every byte; false at the first that does not fit (the state is then unspecified).
  bool feed(std::string_view text);
  bool complete() const { return state_ == State::done; }

  static constexpr int kMaxLeadingSpace = 4;
  static constexpr int kMaxSpaceRun = 24;
  static constexpr int kMaxIntDigits = 20;
  static constexpr int kMaxExpDigits = 2;

 private:
  enum class State : uint8_t {
    start,         // before the top-level '{' (whitespace allowed)
    value,         // a value must come (after ':' or ',' in an array)
    array_first,   // after '[': a value or ']'
    object_first,  // after '{': a key or '}'
    key,           // after ',' in an object: a key
    colon,         // after a key
    after_value,   // ',' or the closing bracket of the container
    string,        // inside a string (key_ tells which kind)
    escape,        // after a backslash
    unicode,       // in \uXXXX, hex_left_ digits to go
    number,        // inside a number (num_ is the sub-state)
    literal,       // inside true / false / null (literal_ is the rest to match)
    done,
  };
  enum class Num : uint8_t { minus, zero, digits, dot, frac, exp, exp_sign, exp_digits };

  bool end_value();  // a value just ended: after_value, or done when it closed the top level
  bool number_can_end() const {
    return num_ == Num::zero || num_ == Num::digits || num_ == Num::frac || num_ == Num::exp_digits;
  }
  bool start_value(unsigned char c);

  State state_ = State::start;
  Num num_ = Num::zero;
  bool key_ = false;  // the string being read is an object key
  int hex_left_ = 0;
  int space_run_ = 0;         // whitespace bytes in a row between tokens
  int digits_ = 0;            // digits so far in the number's integer part or exponent
  std::string_view literal_;  // remaining letters of true/false/null (static storage)
  std::string stack_;         // '{' or '[' per open container (a string: copies of shallow states
                              // stay in the small-string buffer, and the sampler copies many)
};

}  // namespace hearth::generate
