// See chat_examples.h.
#include "crypto/sealed_file.h"
#include "train/chat_examples.h"

#include <sstream>
#include <algorithm>

#include <fstream>

#include "core/error.h"
#include "data/data.h"

namespace hearth::train {
namespace {

// How many leading tokens `a` has in common with `b`: the tokens of a prefix of the text are
// normally a prefix of the whole text's tokens; where the tokenizer merges across the boundary
// the shared part is what both agree on.
size_t shared_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw Error(ErrorKind::not_found, "no file " + path.string());
    throw Error(ErrorKind::io, "cannot read " + path.string());
  }
  in.close();
  std::istringstream text(crypto::read_file(path));
  for (std::string line; std::getline(text, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) return line;
  return {};
}

}  // namespace

Example conversation_example(const chat::ModelChat& chat, const tokenizer::Tokenizer& tokenizer,
                             std::span<const chat::ChatMessage> messages,
                             const std::vector<bool>& trained) {
  // The messages' text is plain (chat_template.h): an answer that says "<|im_end|>" teaches
  // those characters, never the control token.
  auto encode = [&](const tokenizer::PromptText& prompt) {
    return tokenizer.encode(prompt, false);
  };
  auto render = [&](size_t n, bool generation_prompt) {
    return chat.render({messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(n)},
                       generation_prompt);
  };
  Example ex;
  ex.tokens = encode(render(messages.size(), false));
  ex.mask.assign(ex.tokens.size(), 0);
  bool any = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i >= trained.size() || !trained[i] || messages[i].role != "assistant") continue;
    const size_t begin = shared_prefix(encode(render(i, true)), ex.tokens);
    const size_t end = shared_prefix(encode(render(i + 1, false)), ex.tokens);
    // The answer, through the token that ends its turn; what the format puts after that token
    // ("\n" in ChatML) is never generated, so it is context.
    for (size_t t = begin; t < end; ++t) {
      ex.mask[t] = 1;
      any = any || t > 0;
      if (tokenizer.is_eog(ex.tokens[t])) break;
    }
  }
  if (!any) throw Error(ErrorKind::invalid_input, "the conversation has no answer to learn");
  return ex;
}

std::vector<Example> read_chat_jsonl(const std::filesystem::path& path, const chat::ModelChat& chat,
                                     const tokenizer::Tokenizer& tokenizer) {
  const data::ValidationReport report = data::validate_jsonl(path);
  std::vector<std::string> problems;
  for (const auto& issue : report.issues)
    problems.push_back("line " + std::to_string(issue.line) + ": " + issue.message);
  std::vector<Example> examples;
  if (problems.empty()) {
    for (const auto& v : report.examples) {
      std::vector<chat::ChatMessage> messages;
      for (const auto& [role, content] : v.messages) messages.push_back({role, content});
      try {
        examples.push_back(conversation_example(chat, tokenizer, messages, v.trained));
      } catch (const Error& e) {
        problems.push_back("line " + std::to_string(v.line) + ": " + e.what());
      }
    }
  }
  if (!problems.empty()) {
    std::string text = path.string() + ": " + std::to_string(problems.size()) + " bad line" +
                       (problems.size() == 1 ? "" : "s") + " (nothing was trained)";
    for (size_t i = 0; i < problems.size() && i < 10; ++i) text += "\n  " + problems[i];
    if (problems.size() > 10) text += "\n  ...";
    throw Error(ErrorKind::invalid_input, text);
  }
  if (examples.empty())
    throw Error(ErrorKind::invalid_input, path.string() + " holds no training examples");
  return examples;
}

std::vector<Example> read_training_file(const std::filesystem::path& path,
                                        const chat::ModelChat& chat,
                                        const tokenizer::Tokenizer& tokenizer) {
  const std::string line = first_line(path);
  if (line.find("\"messages\"") != std::string::npos) return read_chat_jsonl(path, chat, tokenizer);
  return read_tokenized_jsonl(path, tokenizer.n_vocab());
}

std::vector<Example> fit_to_length(std::vector<Example> examples, int max_seq, size_t* dropped) {
  std::vector<Example> kept;
  for (Example& ex : examples) {
    if (static_cast<int>(ex.tokens.size()) > max_seq) {
      ex.tokens.resize(static_cast<size_t>(max_seq));
      ex.mask.resize(static_cast<size_t>(max_seq));
    }
    if (std::any_of(ex.mask.begin() + 1, ex.mask.end(), [](uint8_t m) { return m != 0; }))
      kept.push_back(std::move(ex));
  }
  if (dropped) *dropped = examples.size() - kept.size();
  if (kept.empty()) throw Error(ErrorKind::invalid_input, "no example has a target to train on");
  return kept;
}

}  // namespace hearth::train
