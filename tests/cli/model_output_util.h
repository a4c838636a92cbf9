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

// One adapter of the conformance pack's lora/ (README §7) and what it is applied to.
struct AdapterCase {
  std::filesystem::path base;     // models/<base>.gguf
  std::filesystem::path adapter;  // lora/<adapter>.gguf
  std::string lora_option;        // ADAPTER.gguf:SCALE as the reference applied it
  json::value ref;                // lora/<adapter>.ref.json
};

inline AdapterCase adapter_case(const std::filesystem::path& dir, const std::string& stem) {
  AdapterCase c;
  c.ref = json_from(read_file(dir / "lora" / (stem + ".ref.json")));
  const auto& lora = c.ref.at("lora").as_object();
  c.base = dir / "models" / text(c.ref.at("model"));
  c.adapter = dir / "lora" / text(lora.at("adapter"));
  c.lora_option = c.adapter.string() + ":" + std::to_string(json::value_to<double>(lora.at("scale")));
  return c;
}

}  // namespace hearth::test
