// validate_jsonl(): the format checks OpenAI runs on chat fine-tuning files, by line, with the
// same check names, plus invalid_json (a line that is not JSON at all) and invalid_weight.
// A line gets each kind of issue at most once (the message names the first message at fault),
// so one broken conversation does not flood the report.
#include <sstream>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <set>

#include "crypto/sealed_file.h"
#include "core/error.h"
#include "core/json_text.h"
#include "data/data.h"

namespace hearth::data {
namespace {

namespace json = boost::json;

const std::set<std::string> kRoles = {"system", "user", "assistant", "tool"};
const std::set<std::string> kKeys = {"role",   "content",    "name",
                                     "weight", "tool_calls", "function_call"};

struct LineChecker {
  std::size_t line;
  std::vector<ValidationIssue>& issues;
  std::set<std::string> seen{};

  void add(const std::string& code, const std::string& message) {
    if (seen.insert(code).second) issues.push_back({line, code, message});
  }
};

// A value's JSON type as the messages name it ("the line is a JSON array, not an object").
std::string type_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "value";
}

// Checks one parsed line; returns its messages when it has no issue.
std::optional<ValidatedExample> check_example(const json::value& example, LineChecker& c) {
  if (!example.is_object()) {
    c.add("data_type", "the line is a JSON " + type_name(example) + ", not an object");
    return std::nullopt;
  }
  const json::value* list = example.get_object().if_contains("messages");
  if (list == nullptr || !list->is_array() || list->get_array().empty()) {
    c.add("missing_messages_list", "the example has no non-empty \"messages\" list");
    return std::nullopt;
  }
  ValidatedExample out;
  out.line = c.line;
  bool has_assistant = false;
  std::size_t index = 0;
  for (const auto& item : list->get_array()) {
    const std::string where = "message " + std::to_string(index++);
    bool weighted_out = false;  // "weight": 0, context rather than an answer to learn
    if (!item.is_object()) {
      c.add("data_type", where + " is a JSON " + type_name(item) + ", not an object");
      continue;
    }
    const json::object& m = item.get_object();
    if (!m.contains("role") || !m.contains("content")) {
      c.add("message_missing_key",
            where + " lacks \"" + std::string(m.contains("role") ? "content" : "role") + "\"");
    }
    // In byte order, so that the unknown key named is the same whatever order the line has.
    std::vector<std::string_view> keys;
    for (const auto& member : m) keys.push_back(member.key());
    std::sort(keys.begin(), keys.end());
    for (std::string_view key : keys) {
      if (!kKeys.count(std::string(key)))
        c.add("message_unrecognized_key", where + " has key \"" + std::string(key) + "\"");
    }
    std::string role;
    if (const json::value* r = m.if_contains("role")) {
      role = r->is_string() ? std::string(r->get_string()) : format_json(*r);
      if (!r->is_string() || !kRoles.count(role))
        c.add("unrecognized_role", where + " has role " + format_json(*r));
    }
    if (role == "assistant") has_assistant = true;
    if (const json::value* x = m.if_contains("content")) {
      if (!x->is_string() || x->get_string().empty())
        c.add("missing_content",
              where + " has " + (x->is_string() ? "empty" : "non-text") + " content");
      else
        out.messages.emplace_back(role, std::string(x->get_string()));
    }
    if (const json::value* w = m.if_contains("weight")) {
      const bool zero_or_one =
          w->is_number() && (w->to_number<double>() == 0 || w->to_number<double>() == 1);
      if (!zero_or_one)
        c.add("invalid_weight", where + " has weight " + format_json(*w) + " (must be 0 or 1)");
      else if (role != "assistant")
        c.add("invalid_weight", where + " is not an assistant message but has a weight");
      else if (w->to_number<double>() == 0)
        weighted_out = true;
    }
    out.trained.push_back(role == "assistant" && !weighted_out);
  }
  if (!has_assistant)
    c.add("example_missing_assistant_message", "the example has no assistant message");
  if (!c.seen.empty()) return std::nullopt;
  return out;
}

}  // namespace

ValidationReport validate_jsonl(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    throw Error(ErrorKind::not_found, "no file " + file.string());
  // Datasets hearth keeps are sealed (crypto/sealed_file.h); a user's own file is plain.
  std::istringstream in(crypto::read_file(file));
  ValidationReport report;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++report.lines;
    LineChecker c{line, report.issues};
    // Without exceptions: a bad line (including invalid UTF-8) is an issue, not a failure.
    const std::optional<json::value> example = parse_json(text);
    if (!example) {
      c.add("invalid_json", "the line is not valid JSON");
      continue;
    }
    if (auto checked = check_example(*example, c)) report.examples.push_back(std::move(*checked));
  }
  if (in.bad()) throw Error(ErrorKind::io, "error while reading " + file.string());
  return report;
}

}  // namespace hearth::data
