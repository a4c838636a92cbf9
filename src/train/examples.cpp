#include "crypto/sealed_file.h"
#include "train/examples.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace hearth::train {

namespace {

namespace json = boost::json;

// One line's example, or the reason it is not one.
std::string parse_line(std::string_view line, int64_t n_vocab, Example& out) {
  boost::system::error_code ec;
  const json::value v = json::parse(line, ec);
  if (ec) return "not valid JSON (" + ec.message() + ")";
  const json::object* obj = v.if_object();
  if (!obj) return "not a JSON object";
  const json::value* tokens = obj->if_contains("tokens");
  const json::value* mask = obj->if_contains("mask");
  if (!tokens || !tokens->is_array()) return "\"tokens\" must be an array of token ids";
  if (!mask || !mask->is_array()) return "\"mask\" must be an array of 0 and 1";
  if (tokens->as_array().size() != mask->as_array().size())
    return "\"tokens\" has " + std::to_string(tokens->as_array().size()) +
           " entries but \"mask\" " + std::to_string(mask->as_array().size());
  for (const json::value& t : tokens->as_array()) {
    if (!t.is_int64() && !t.is_uint64()) return "a token id is not an integer";
    const int64_t id = t.is_int64() ? t.as_int64() : static_cast<int64_t>(t.as_uint64());
    if (id < 0 || id >= n_vocab)
      return "token " + std::to_string(id) + " is outside the vocabulary of " +
             std::to_string(n_vocab);
    out.tokens.push_back(static_cast<int32_t>(id));
  }
  bool any_target = false;
  for (size_t i = 0; i < mask->as_array().size(); ++i) {
    const json::value& m = mask->as_array()[i];
    if (!m.is_int64() || (m.as_int64() != 0 && m.as_int64() != 1))
      return "mask entries must be 0 or 1";
    out.mask.push_back(static_cast<uint8_t>(m.as_int64()));
    any_target = any_target || (i > 0 && m.as_int64() == 1);
  }
  if (!any_target) return "no target token (mask[t] = 1 for some t ≥ 1)";
  return {};
}

}  // namespace

std::vector<Example> parse_tokenized_jsonl(std::string_view text, int64_t n_vocab,
                                           std::string_view source) {
  std::vector<Example> examples;
  std::string problems;
  int bad = 0;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    Example ex;
    const std::string why = parse_line(line, n_vocab, ex);
    if (why.empty()) {
      examples.push_back(std::move(ex));
    } else if (++bad <= 10) {
      problems += "\n  line " + std::to_string(line_no) + ": " + why;
    }
  }
  if (bad > 0)
    throw Error(ErrorKind::invalid_input, std::string(source) + ": " + std::to_string(bad) +
                                              " bad line" + (bad == 1 ? "" : "s") + problems);
  if (examples.empty())
    throw Error(ErrorKind::invalid_input, std::string(source) + ": no training examples");
  return examples;
}

std::vector<Example> read_tokenized_jsonl(const std::filesystem::path& path, int64_t n_vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const bool missing = !std::filesystem::exists(path);
    throw Error(missing ? ErrorKind::not_found : ErrorKind::io,
                "cannot read " + path.string() + (missing ? ": no such file" : ""));
  }
  in.close();
  return parse_tokenized_jsonl(crypto::read_file(path), n_vocab, path.string());
}

}  // namespace hearth::train
