// Reading JSON in tests: hearth's JSON is Boost.JSON (core/json_text.h gives its written form).
#pragma once

#include <boost/json.hpp>

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.h"

namespace hearth::test {

namespace json = boost::json;

// The text as a JSON value. Text that is not JSON throws, and the test fails with what is wrong,
// where, and the text itself (a command's whole output, say).
inline json::value json_from(std::string_view text) {
  std::string error;
  auto value = parse_json(text, &error);
  if (!value) throw std::runtime_error("not JSON (" + error + "): " + std::string(text));
  return std::move(*value);
}

// The values of a JSON Lines text (NDJSON, a JSONL file), one per non-empty line; a line that is
// not JSON throws as json_from does.
inline std::vector<json::value> json_lines(const std::string& text) {
  std::vector<json::value> values;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) values.push_back(json_from(line));
  return values;
}

// Whether an object holds this key (with any value, null included).
inline bool has_key(const json::value& object, std::string_view key) {
  return object.is_object() && object.get_object().contains(key);
}

}  // namespace hearth::test
