// Reading what `hearth generate` and `hearth logits` print and write, and the conformance
// references they are compared with (shared by the CLI's model tests).
#pragma once

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::test {

inline std::string text(const json::value& v) { return json::value_to<std::string>(v); }

// A JSON array of ids as `hearth generate --ids` prints it: "1 2 3\n".
inline std::string ids_line(const json::value& ids) {
  std::string s;
  for (const auto& id : ids.as_array())
    s += (s.empty() ? "" : " ") + std::to_string(json::value_to<int>(id));
  return s + "\n";
}

// A raw little-endian float32 file (`hearth logits --out`, the references' .P<k>.f32).
inline std::vector<float> read_floats(const std::filesystem::path& path) {
  std::string bytes = read_file(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace hearth::test
