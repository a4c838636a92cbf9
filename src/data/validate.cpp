// validate_jsonl(): the format checks OpenAI runs on chat fine-tuning files, by line, with the
// same check names, plus invalid_json (a line that is not JSON at all) and invalid_weight.
// A line gets each kind of issue at most once (the message names the first message at fault),
// so one broken conversation does not flood the report.
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "data/data.h"

namespace hearth::data {
namespace {

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

// Checks one parsed line; returns the (role, content) pairs when it has no issue.
std::optional<std::vector<std::pair<std::string, std::string>>> check_example(
    const nlohmann::json& example, LineChecker& c) {
  if (!example.is_object()) {
    c.add("data_type",
          "the line is a JSON " + std::string(example.type_name()) + ", not an object");
    return std::nullopt;
  }
  auto it = example.find("messages");
  if (it == example.end() || !it->is_array() || it->empty()) {
    c.add("missing_messages_list", "the example has no non-empty \"messages\" list");
    return std::nullopt;
  }
  std::vector<std::pair<std::string, std::string>> out;
  bool has_assistant = false;
  std::size_t index = 0;
  for (const auto& m : *it) {
    const std::string where = "message " + std::to_string(index++);
    if (!m.is_object()) {
      c.add("data_type", where + " is a JSON " + std::string(m.type_name()) + ", not an object");
      continue;
    }
    if (!m.contains("role") || !m.contains("content")) {
      c.add("message_missing_key",
            where + " lacks \"" + std::string(m.contains("role") ? "content" : "role") + "\"");
    }
    for (const auto& [key, value] : m.items()) {
      if (!kKeys.count(key)) c.add("message_unrecognized_key", where + " has key \"" + key + "\"");
    }
    std::string role;
    if (auto r = m.find("role"); r != m.end()) {
      role = r->is_string() ? r->get<std::string>() : r->dump();
      if (!r->is_string() || !kRoles.count(role))
        c.add("unrecognized_role", where + " has role " + r->dump());
    }
    if (role == "assistant") has_assistant = true;
    if (auto x = m.find("content"); x != m.end()) {
      if (!x->is_string() || x->get_ref<const std::string&>().empty())
        c.add("missing_content",
              where + " has " + (x->is_string() ? "empty" : "non-text") + " content");
      else
        out.emplace_back(role, x->get<std::string>());
    }
    if (auto w = m.find("weight"); w != m.end()) {
      const bool zero_or_one = w->is_number() && (*w == 0 || *w == 1);
      if (!zero_or_one)
        c.add("invalid_weight", where + " has weight " + w->dump() + " (must be 0 or 1)");
      else if (role != "assistant")
        c.add("invalid_weight", where + " is not an assistant message but has a weight");
    }
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
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "cannot read " + file.string());
  ValidationReport report;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    ++report.lines;
    LineChecker c{line, report.issues};
    // Without exceptions: a bad line (including invalid UTF-8) is an issue, not a failure.
    nlohmann::json example = nlohmann::json::parse(text, nullptr, false);
    if (example.is_discarded()) {
      c.add("invalid_json", "the line is not valid JSON");
      continue;
    }
    if (auto messages = check_example(example, c))
      report.examples.push_back({line, std::move(*messages)});
  }
  if (in.bad()) throw Error(ErrorKind::io, "error while reading " + file.string());
  return report;
}

}  // namespace hearth::data
