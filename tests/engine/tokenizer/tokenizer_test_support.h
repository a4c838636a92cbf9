// Helpers for the tokenizer tests: conformance vocabularies, the .inp/.out formats, synthetic
// vocabularies written with gguf::Writer, and readable dumps of strings and ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "support/test_support.h"

namespace hearth::tokenizer::test {

inline constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";

// The eight vocabularies of shared/conformance/tokenizer/ (file stem after "ggml-vocab-").
inline const std::vector<std::string>& conformance_vocabs() {
  static const std::vector<std::string> names = {"tiny-spm",  "llama-spm",      "phi-3",
                                                 "gpt-2",     "deepseek-coder", "starcoder",
                                                 "llama-bpe", "qwen2"};
  return names;
}

inline std::filesystem::path vocab_path(const std::filesystem::path& dir, const std::string& name) {
  return dir / "tokenizer" / ("ggml-vocab-" + name + ".gguf");
}

// Loads each vocabulary once per test process (the big ones take a moment in debug builds).
inline const Tokenizer& load_cached(const std::filesystem::path& path) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[path.string()];
  if (!slot) slot = std::make_unique<Tokenizer>(Tokenizer::from_gguf(gguf::File::open(path)));
  return *slot;
}

// The strings of an .inp file: split on the separator, each string (the last too) followed by it.
inline std::vector<std::string> split_inputs(std::string_view data) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t sep = data.find(kSeparator, pos);
    if (sep == std::string_view::npos) break;
    out.emplace_back(data.substr(pos, sep - pos));
    pos = sep + kSeparator.size();
  }
  if (pos < data.size()) out.emplace_back(data.substr(pos));
  return out;
}

// The id lines of an .out file.
inline std::vector<std::vector<int32_t>> parse_outputs(std::string_view data) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream in{std::string(data)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    int32_t id;
    while (ids >> id) row.push_back(id);
    out.push_back(std::move(row));
  }
  return out;
}

// Printable form of arbitrary bytes: ASCII as is, everything else as \xNN.
inline std::string escaped(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += ch;
    } else if (c >= 0x20 && c < 0x7F) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "\"";
}

inline std::string ids_text(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out + "]";
}

// A vocabulary-only GGUF file in memory, built key by key, and the Tokenizer made from it.
class SyntheticVocab {
 public:
  explicit SyntheticVocab(std::string model) {
    set("tokenizer.ggml.model", gguf::Value::of_string(model));
  }

  void set(std::string key, gguf::Value value) { writer_.set(std::move(key), std::move(value)); }
  void tokens(const std::vector<std::string>& texts) {
    std::vector<gguf::Value> items;
    for (const auto& t : texts) items.push_back(gguf::Value::of_string(t));
    set("tokenizer.ggml.tokens", gguf::Value::of_array(gguf::ValueType::string, std::move(items)));
  }
  void scores(const std::vector<float>& values) {
    std::vector<gguf::Value> items;
    for (float f : values) items.push_back(gguf::Value::of_f32(f));
    set("tokenizer.ggml.scores", gguf::Value::of_array(gguf::ValueType::f32, std::move(items)));
  }
  void types(const std::vector<int32_t>& values) {
    std::vector<gguf::Value> items;
    for (int32_t t : values) items.push_back(gguf::Value::of_i32(t));
    set("tokenizer.ggml.token_type", gguf::Value::of_array(gguf::ValueType::i32, std::move(items)));
  }
  void merges(const std::vector<std::string>& lines) {
    std::vector<gguf::Value> items;
    for (const auto& m : lines) items.push_back(gguf::Value::of_string(m));
    set("tokenizer.ggml.merges", gguf::Value::of_array(gguf::ValueType::string, std::move(items)));
  }

  Tokenizer build() {
    bytes_ = writer_.to_bytes();
    return Tokenizer::from_gguf(gguf::File::parse(bytes_, "synthetic.gguf"));
  }

 private:
  gguf::Writer writer_;
  std::vector<uint8_t> bytes_;
};

}  // namespace hearth::tokenizer::test
