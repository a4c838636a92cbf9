// Pre-tokenizers for byte-level BPE vocabularies (tokenizer.ggml.model = "gpt2"): they split text
// into words before BPE merges run inside each word. Which one a vocabulary uses is named by
// tokenizer.ggml.pre; each is a fixed sequence of regular expressions (PCRE2 with UTF + UCP, JIT
// when available) applied one after another, every expression splitting each piece produced by
// the previous one. Text between matches stays as pieces of its own, so the pieces always
// concatenate back to the input exactly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

enum class PreTokenizerKind {
  default_bpe,      // "default"
  llama_bpe,        // "llama-bpe", "llama3", ... (Llama 3)
  qwen2,            // "qwen2", "deepseek-r1-qwen"
  gpt2,             // "gpt-2"
  deepseek_coder,   // "deepseek-coder"
  starcoder,        // "starcoder"
  tekken,           // "tekken" (Mistral Nemo, Devstral)
};

// The kind named by a tokenizer.ggml.pre value; nullopt when hearth does not know it.
std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name);
// Comma-separated list of the names pre_tokenizer_from_name accepts (for error messages).
std::string supported_pre_tokenizer_names();

// Compiled expressions for one kind; immutable after construction and safe to share across
// threads (each split() call uses its own match data).
class PreTokenizer {
 public:
  explicit PreTokenizer(PreTokenizerKind kind);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  PreTokenizerKind kind() const { return kind_; }

  // Splits valid UTF-8 `text` into pieces (views into `text`), in order, none empty. Cost is
  // linear in the length of the text. Invalid UTF-8 is the caller's to replace beforehand.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  PreTokenizerKind kind_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace hearth::tokenizer
