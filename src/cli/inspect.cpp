// `hearth inspect MODEL [--json]` (an installed name or a GGUF file): what a GGUF file holds — header facts, file type, parameter
// count, every metadata key (long values shortened) and every tensor. --json prints the same data
// as one JSON object. A damaged file fails with the reader's message (corrupt_file, exit code 1).
#include <algorithm>
#include <boost/json.hpp>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/json_text.h"
#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"

namespace hearth::cli {
namespace {

using gguf::Value;
using gguf::ValueType;
namespace json = boost::json;

constexpr size_t kArrayItemsShown = 8;  // text: first items of a long array
constexpr size_t kJsonItemsShown = 32;  // JSON: first items of a long array
constexpr size_t kStringShown = 64;     // text: characters of a long string

// llama.cpp's llama_ftype names, as stored in general.file_type.
std::string file_type_name(int64_t id) {
  static const std::map<int64_t, const char*> kNames = {
      {0, "ALL_F32"},           {1, "MOSTLY_F16"},           {2, "MOSTLY_Q4_0"},
      {3, "MOSTLY_Q4_1"},       {4, "MOSTLY_Q4_1_SOME_F16"}, {7, "MOSTLY_Q8_0"},
      {8, "MOSTLY_Q5_0"},       {9, "MOSTLY_Q5_1"},          {10, "MOSTLY_Q2_K"},
      {11, "MOSTLY_Q3_K_S"},    {12, "MOSTLY_Q3_K_M"},       {13, "MOSTLY_Q3_K_L"},
      {14, "MOSTLY_Q4_K_S"},    {15, "MOSTLY_Q4_K_M"},       {16, "MOSTLY_Q5_K_S"},
      {17, "MOSTLY_Q5_K_M"},    {18, "MOSTLY_Q6_K"},         {19, "MOSTLY_IQ2_XXS"},
      {20, "MOSTLY_IQ2_XS"},    {21, "MOSTLY_Q2_K_S"},       {22, "MOSTLY_IQ3_XS"},
      {23, "MOSTLY_IQ3_XXS"},   {24, "MOSTLY_IQ1_S"},        {25, "MOSTLY_IQ4_NL"},
      {26, "MOSTLY_IQ3_S"},     {27, "MOSTLY_IQ3_M"},        {28, "MOSTLY_IQ2_S"},
      {29, "MOSTLY_IQ2_M"},     {30, "MOSTLY_IQ4_XS"},       {31, "MOSTLY_IQ1_M"},
      {32, "MOSTLY_BF16"},      {36, "MOSTLY_TQ1_0"},        {37, "MOSTLY_TQ2_0"},
      {38, "MOSTLY_MXFP4_MOE"},
  };
  auto it = kNames.find(id);
  return it == kNames.end() ? "unknown" : it->second;
}

// "1.07M": three significant digits with a K / M / B / T suffix.
std::string human_count(uint64_t n) {
  static const char* kSuffixes[] = {"", "K", "M", "B", "T"};
  double v = static_cast<double>(n);
  int s = 0;
  while (v >= 999.5 && s < 4) v /= 1000, ++s;
  char buf[32];
  if (s == 0)
    std::snprintf(buf, sizeof buf, "%" PRIu64, n);
  else
    std::snprintf(buf, sizeof buf,
                  v < 9.995   ? "%.2f%s"
                  : v < 99.95 ? "%.1f%s"
                              : "%.0f%s",
                  v, kSuffixes[s]);
  return buf;
}

std::string type_label(const Value& v) {
  if (v.type != ValueType::array) return std::string(gguf::value_type_name(v.type));
  return "array[" + std::string(gguf::value_type_name(v.element_type)) + "]";
}

// Text for a terminal: control bytes escaped (a file must not send escape sequences), UTF-8 kept.
std::string escaped(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// A quoted string value, escaped, cut after `limit` bytes.
std::string printable(std::string_view s, size_t limit) {
  std::string out = "\"";
  for (const char c : s.substr(0, limit)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out = escaped(out);
  out += s.size() > limit ? "\"... (" + std::to_string(s.size()) + " bytes)" : "\"";
  return out;
}

std::string text_value(const Value& v) {
  char buf[64];
  switch (v.type) {
    case ValueType::u8:
    case ValueType::u16:
    case ValueType::u32:
    case ValueType::u64:
      return std::to_string(v.u);
    case ValueType::i8:
    case ValueType::i16:
    case ValueType::i32:
    case ValueType::i64:
      return std::to_string(v.i);
    case ValueType::f32:
    case ValueType::f64:
      std::snprintf(buf, sizeof buf, "%.9g", v.f);
      return buf;
    case ValueType::boolean:
      return v.u != 0 ? "true" : "false";
    case ValueType::string:
      return printable(v.s, kStringShown);
    case ValueType::array: {
      std::string out = "[";
      for (size_t k = 0; k < v.items.size() && k < kArrayItemsShown; ++k)
        out += (k ? ", " : "") + text_value(v.items[k]);
      if (v.items.size() > kArrayItemsShown)
        out += ", ... (" + std::to_string(v.items.size()) + " items)";
      return out + "]";
    }
  }
  return "?";
}

json::value json_value(const Value& v) {
  switch (v.type) {
    case ValueType::u8:
    case ValueType::u16:
    case ValueType::u32:
    case ValueType::u64:
      return v.u;
    case ValueType::i8:
    case ValueType::i16:
    case ValueType::i32:
    case ValueType::i64:
      return v.i;
    case ValueType::f32:
    case ValueType::f64:
      return v.f;
    case ValueType::boolean:
      return v.u != 0;
    case ValueType::string:
      return json::string(v.s);
    case ValueType::array: {
      json::array items;
      for (size_t k = 0; k < v.items.size() && k < kJsonItemsShown; ++k)
        items.push_back(json_value(v.items[k]));
      return items;
    }
  }
  return nullptr;
}

// What both outputs show, gathered once.
struct Summary {
  std::optional<int64_t> file_type;
  std::string most_common_type;
  size_t most_common_count = 0;
  std::map<std::string, size_t> type_counts;
  uint64_t parameters = 0;
};

Summary summarize(const gguf::File& file) {
  Summary s;
  if (const Value* ft = file.find("general.file_type"); ft != nullptr && ft->is_integer())
    s.file_type = ft->type == ValueType::u8 || ft->type == ValueType::u16 ||
                          ft->type == ValueType::u32 || ft->type == ValueType::u64
                      ? static_cast<int64_t>(ft->u)
                      : ft->i;
  for (const auto& t : file.tensors()) {
    ++s.type_counts[std::string(gguf::tensor_type_name(t.type))];
    s.parameters += static_cast<uint64_t>(t.n_elements());
  }
  for (const auto& [name, count] : s.type_counts)
    if (count > s.most_common_count) s.most_common_type = name, s.most_common_count = count;
  return s;
}

std::string shape_text(const std::vector<int64_t>& ne) {
  std::string out;
  for (size_t d = 0; d < ne.size(); ++d) out += (d ? " x " : "") + std::to_string(ne[d]);
  return out;
}

void print_text(const gguf::File& file, const Summary& s) {
  std::printf("file:        %s\n", file.name().c_str());
  std::printf("version:     %u\n", file.version());
  std::printf("alignment:   %u\n", file.alignment());
  std::printf("size:        %" PRIu64 " bytes (%.2f MiB), data section at %" PRIu64 "\n",
              file.file_size(), static_cast<double>(file.file_size()) / (1 << 20),
              file.data_offset());
  if (s.file_type)
    std::printf("file type:   %s (%" PRId64 ")", file_type_name(*s.file_type).c_str(),
                *s.file_type);
  else
    std::printf("file type:   not set");
  if (s.most_common_count > 0)
    std::printf("; most tensors %s (%zu of %zu)", s.most_common_type.c_str(), s.most_common_count,
                file.tensors().size());
  std::printf("\nparameters:  %s (%" PRIu64 ")\n", human_count(s.parameters).c_str(), s.parameters);

  // The shape as hearth reads it (as stored: also for files it cannot run).
  const auto facts = model::architecture_facts(model::describe(file, model::DescribeMode::as_stored));
  std::printf("\nmodel:\n");
  for (const auto& [name, value] : facts) std::printf("  %-16s %s\n", name.c_str(), value.c_str());

  size_t key_width = 3, type_width = 4;
  for (const auto& [key, value] : file.metadata()) {
    key_width = std::max(key_width, std::min<size_t>(key.size(), 48));
    type_width = std::max(type_width, type_label(value).size());
  }
  std::printf("\nmetadata (%zu keys):\n", file.metadata().size());
  std::printf("  %-*s  %-*s  %s\n", int(key_width), "KEY", int(type_width), "TYPE", "VALUE");
  for (const auto& [key, value] : file.metadata())
    std::printf("  %-*s  %-*s  %s\n", int(key_width), escaped(key).c_str(), int(type_width),
                type_label(value).c_str(), text_value(value).c_str());

  size_t name_width = 4, shape_width = 5;
  for (const auto& t : file.tensors()) {
    name_width = std::max(name_width, t.name.size());
    shape_width = std::max(shape_width, shape_text(t.ne).size());
  }
  std::printf("\ntensors (%zu):\n", file.tensors().size());
  if (file.tensors().empty()) return;
  std::printf("  %-*s  %-7s  %-*s  %12s  %12s\n", int(name_width), "NAME", "TYPE", int(shape_width),
              "SHAPE", "OFFSET", "BYTES");
  for (const auto& t : file.tensors())
    std::printf("  %-*s  %-7s  %-*s  %12" PRIu64 "  %12" PRIu64 "\n", int(name_width),
                escaped(t.name).c_str(), std::string(gguf::tensor_type_name(t.type)).c_str(),
                int(shape_width), shape_text(t.ne).c_str(), t.offset, t.n_bytes);
}

void print_json(const gguf::File& file, const Summary& s) {
  json::object out;
  out["file"] = file.name();
  out["file_size"] = file.file_size();
  out["version"] = file.version();
  out["alignment"] = file.alignment();
  out["data_offset"] = file.data_offset();
  out["file_type"] = s.file_type ? json::value(json::object{{"id", *s.file_type},
                                                            {"name", file_type_name(*s.file_type)}})
                                 : json::value(nullptr);
  out["most_common_tensor_type"] =
      s.most_common_count ? json::value(s.most_common_type) : json::value(nullptr);
  json::object type_counts;
  for (const auto& [type, count] : s.type_counts) type_counts[type] = count;
  out["tensor_type_counts"] = std::move(type_counts);
  out["parameter_count"] = s.parameters;
  out["parameter_count_text"] = human_count(s.parameters);
  json::object facts;
  for (const auto& [name, value] :
       model::architecture_facts(model::describe(file, model::DescribeMode::as_stored)))
    facts[name] = value;
  out["model"] = std::move(facts);
  json::array metadata;
  for (const auto& [key, value] : file.metadata()) {
    json::object entry{{"key", key}, {"type", gguf::value_type_name(value.type)}};
    if (value.type == ValueType::array) {
      entry["element_type"] = gguf::value_type_name(value.element_type);
      entry["count"] = value.items.size();
      entry["truncated"] = value.items.size() > kJsonItemsShown;
    }
    entry["value"] = json_value(value);
    metadata.push_back(std::move(entry));
  }
  out["metadata_count"] = file.metadata().size();
  out["metadata"] = std::move(metadata);
  json::array tensors;
  for (const auto& t : file.tensors())
    tensors.push_back(json::object{{"name", t.name},
                                   {"type", gguf::tensor_type_name(t.type)},
                                   {"shape", json::value_from(t.ne)},
                                   {"offset", t.offset},
                                   {"bytes", t.n_bytes}});
  out["tensor_count"] = file.tensors().size();
  out["tensors"] = std::move(tensors);
  // Token strings need not be valid UTF-8; JSON output replaces bad bytes with U+FFFD.
  std::printf("%s\n", format_json(out, 2).c_str());
}

struct InspectOptions {
  std::string path;
  bool json = false;
};

}  // namespace

void register_inspect(CLI::App& app) {
  auto options = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "show the metadata and tensors of a model's GGUF file");
  cmd->add_option("model", options->path, "installed model name[:tag] or GGUF file")->required();
  cmd->add_flag("--json", options->json, "print one JSON object instead of tables");
  cmd->callback([options] {
    const gguf::File file = gguf::File::open(resolve_model(options->path).path);
    const Summary summary = summarize(file);
    if (options->json)
      print_json(file, summary);
    else
      print_text(file, summary);
  });
}

}  // namespace hearth::cli
