// mark_special_tokens(): the parts of llama.cpp's loader that look at token texts. Many GGUF
// files name only BOS and EOS, so the end-of-turn and end-of-generation tokens of common chat
// formats are found by their text, and such tokens are treated as control tokens even when the
// file types them otherwise (so plain text never turns into them). Also builds the list of
// tokens matched in text before encoding, and the whitespace stripping Phi-3 expects around them.
#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <span>
#include <string>

#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

bool is_one_of(std::string_view text, std::span<const std::string_view> names) {
  return std::find(names.begin(), names.end(), text) != names.end();
}

constexpr std::string_view kEndOfTurn[] = {
    "<|eot_id|>",      "<|im_end|>", "<|end|>", "<end_of_turn>",         "<|endoftext|>",
    "<|end_of_text|>", "<EOT>",      "_<EOT>",  "<｜end▁of▁sentence｜>", "<end_of_utterance>"};
constexpr std::string_view kEndOfMessage[] = {"<|eom_id|>"};
// Fill-in-the-middle padding, repository and file separators also end generation.
constexpr std::string_view kFimPad[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"};
constexpr std::string_view kFimRepo[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                         "<reponame>"};
constexpr std::string_view kFimSep[] = {"<|file_sep|>"};
constexpr std::string_view kEndOfGeneration[] = {
    "<|eot_id|>", "<|im_end|>",    "<|end|>",         "<|return|>",
    "<|call|>",   "<end_of_turn>", "<|endoftext|>",   "<|eom_id|>",
    "<EOT>",      "_<EOT>",        "<|end_of_text|>", "<end_of_utterance>"};

// The token named by the earliest entry of `names` that the vocabulary has (the lists are in
// order of preference); it becomes a control token.
int32_t find_by_text(Vocab& v, std::span<const std::string_view> names) {
  for (std::string_view name : names) {
    if (const int32_t id = v.find(name); id != kNoToken) {
      v.types[id] = TokenType::control;
      return id;
    }
  }
  return kNoToken;
}

bool contains_any(const std::string& s, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) {
    if (s.find(p) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void mark_special_tokens(const gguf::File& file, Vocab& v) {
  if (v.eot == kNoToken) v.eot = find_by_text(v, kEndOfTurn);
  if (v.eom == kNoToken) v.eom = find_by_text(v, kEndOfMessage);

  std::vector<int32_t> eog;
  const std::span<const std::string_view> fim_lists[] = {kFimPad, kFimRepo, kFimSep};
  for (auto names : fim_lists) {
    if (int32_t id = find_by_text(v, names); id != kNoToken) eog.push_back(id);
  }
  for (int32_t id = 0; id < v.n_tokens(); ++id) {
    if (is_one_of(v.texts[id], kEndOfGeneration)) {
      v.types[id] = TokenType::control;
      eog.push_back(id);
    }
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id != kNoToken) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  v.eog_ids = std::move(eog);

  for (int32_t id = 0; id < v.n_tokens(); ++id) {
    const TokenType t = v.types[id];
    const bool special =
        t == TokenType::control || t == TokenType::user_defined || t == TokenType::unknown;
    if (special && !v.texts[id].empty()) v.special_tokens.push_back(id);
  }
  std::stable_sort(v.special_tokens.begin(), v.special_tokens.end(),
                   [&](int32_t a, int32_t b) { return v.texts[a].size() > v.texts[b].size(); });

  // User-defined tokens that text from a message may still become: not the ones the vocabulary
  // names (BOS, EOS, end of turn, padding, ...: some files type Phi-3's "</s>" user-defined),
  // nor any written like markup ("<...>", "[...]": "<|EOT|>", "<tool_call>", "[PAD32022]").
  // What stays are the ordinary pieces some vocabularies add, such as single characters.
  v.plain_ok.assign(static_cast<size_t>(v.n_tokens()), 0);
  for (int32_t id : v.special_tokens) {
    if (v.types[id] != TokenType::user_defined) continue;
    const std::string& text = v.texts[id];
    const bool named = id == v.bos || id == v.eos || id == v.eot || id == v.eom || id == v.unk ||
                       id == v.pad || id == v.sep ||
                       std::binary_search(v.eog_ids.begin(), v.eog_ids.end(), id);
    const bool bracketed = text.size() >= 3 && ((text.front() == '<' && text.back() == '>') ||
                                                (text.front() == '[' && text.back() == ']'));
    if (!named && !bracketed) v.plain_ok[static_cast<size_t>(id)] = 1;
  }

  // Phi-3 files carry no per-token attributes, but its special tokens swallow the whitespace
  // that follows them; llama.cpp recognises the model by general.name.
  std::string name = file.get_string("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (contains_any(name, {"phi-3", "phi3"})) {
    for (int32_t id : v.special_tokens) v.strip[id] |= strip_right;
    if (int32_t id = v.find("</s>"); id != kNoToken) v.strip[id] |= strip_right;
    for (std::string_view keep : {"<unk>", "<s>", "<|endoftext|>"}) {
      if (int32_t id = v.find(keep); id != kNoToken) v.strip[id] &= ~strip_right;
    }
  }
}

}  // namespace hearth::tokenizer
