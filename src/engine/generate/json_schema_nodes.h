// The compiled form of a JSON Schema (json_schema.h): one node per kind of value. Private to
// engine/generate.
#pragma once

#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/generate/json_regex.h"
#include "engine/generate/json_schema.h"

namespace hearth::generate {

struct SchemaNode {
  enum class Kind : uint8_t { any_of, object, array, string, number, literal };
  Kind kind = Kind::any_of;
  std::vector<int> alts;  // any_of

  struct Prop {
    std::string key;  // the name as written inside a JSON string (escaped, no quotes)
    int node = 0;
    bool required = false;
  };
  std::vector<Prop> props;  // object, in the schema's order
  int additional = -1;      // object: the node of other keys' values; -1: no other keys

  int items = -1;  // array: the node of every item
  int min_items = 0, max_items = INT_MAX;

  int min_len = 0, max_len = INT_MAX;  // string, in characters
  std::shared_ptr<const JsonRegex> regex;  // string: pattern or format, or none

  bool integer = false;  // number
  bool has_lo = false, lo_excl = false, has_hi = false, hi_excl = false;
  double lo = 0, hi = 0;

  std::vector<std::string> texts;  // literal: the JSON texts it may be (enum, const, true...)

  // The shortest complete value (filled after compiling); nullopt: no finite value satisfies it.
  std::optional<std::string> min_text;
};

struct JsonSchema {
  std::vector<SchemaNode> nodes;
  int root = 0;
  // Pattern strings' shortest completions by (node, live set, length): one search each. Used by
  // one thread at a time, as the checker states that read it are.
  mutable std::unordered_map<std::string, std::optional<std::string>> pattern_memo;
  std::optional<std::string> pattern_tail(int node, const std::string& set, int length) const;
};

// What a checker frame is (JsonSchemaState::Frame::type) and where inside its value it stands.
namespace frames {
enum Type : uint8_t { t_root, t_object, t_array, t_string, t_number, t_literal };
// Object phases: first (key or '}'), key_wait (after ','), in_key, colon, value_wait, in_value,
// after_value. Array phases: first (value or ']'), value_wait (after ','), in_value, after_value.
enum ObjPhase : uint8_t { o_first, o_key_wait, o_in_key, o_colon, o_value_wait, o_in_value, o_after };
enum ArrPhase : uint8_t { a_first, a_value_wait, a_in_value, a_after };
enum RootPhase : uint8_t { r_value, r_in_value, r_done };
}  // namespace frames

// The bytes that finish a UTF-8 character begun in a string (a frame's `c`, json_schema_state.cpp).
std::string utf8_finish(int32_t state);
// The shortest text that completes one alternative's frame stack; nullopt when it cannot.
std::optional<std::string> thread_completion(const JsonSchema& s, const JsonSchemaState::Thread& t);

// The number frame's machinery (json_schema_number.cpp), shared by the checker and the compiler.
namespace number {
enum Sub : uint8_t { empty, minus, zero, digits, dot, frac, exp, exp_sign, exp_digits };
// Feeds c to a number being written (frame.sub, frame.buf); false when c cannot extend it within
// the node's limits (the frame is then unchanged).
bool extend(const SchemaNode& n, JsonSchemaState::Frame& f, unsigned char c);
// The number can end here (syntax and range).
bool can_end(const SchemaNode& n, const JsonSchemaState::Frame& f);
// A short text that ends the number in range; nullopt when none does.
std::optional<std::string> finish(const SchemaNode& n, JsonSchemaState::Frame f);
}  // namespace number

}  // namespace hearth::generate
