// Pre-tokenizers for byte-level BPE vocabularies (tokenizer.ggml.model = "gpt2"): they split text
// into words before BPE merges run inside each word. Which one a vocabulary uses is named by
// tokenizer.ggml.pre; each is a fixed sequence of regular expressions (PCRE2, JIT when available)
// applied one after another, every expression splitting each piece produced by the previous one.
// Text between matches stays as pieces of its own, so the pieces always concatenate back to the
// input exactly. Most expressions read characters (UTF + UCP); a few models split digits after
// the GPT-2 byte mapping, and their last expressions read bytes, so a piece may then end inside
// a multi-byte character (the byte-level BPE encoder spells pieces byte by byte, which is fine).
// docs/tokenizers.md lists every name and its rule.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::tokenizer {

enum class PreTokenizerKind {
  default_bpe,     // "default"
  llama_bpe,       // "llama-bpe", "llama3", ... (Llama 3)
  qwen2,           // "qwen2", "deepseek-r1-qwen"
  gpt2,            // "gpt-2", "mpt", "olmo", "jais"
  deepseek_coder,  // "deepseek-coder"
  starcoder,       // "starcoder", "refact", "command-r", "exaone", "minerva-7b"
  tekken,          // "tekken" (Mistral Nemo, Devstral)
  falcon,          // "falcon"
  deepseek_llm,    // "deepseek-llm"
  llama3_merged,   // "dbrx", "smaug-bpe": Llama 3's split, but every word goes through merges
  bloom,           // "bloom", "poro-chat"
  viking,          // "viking"
  chameleon,       // "chameleon"
  gpt4o,           // "gpt-4o"
  seed_coder,      // "seed-coder"
};

// The kind named by a tokenizer.ggml.pre value; nullopt when hearth does not know it.
std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name);
// Comma-separated list of the names pre_tokenizer_from_name accepts (for error messages).
std::string supported_pre_tokenizer_names();

// Vocabulary defaults that come with the pre-tokenizer (a file's own tokenizer.ggml.add_bos_token
// still wins): whether a word found whole in the vocabulary is taken as one token before any
// merge runs (Llama 3 and tekken vocabularies hold words their merges cannot reach), and whether
// a BOS token goes in front of the text.
bool pre_tokenizer_takes_whole_words(PreTokenizerKind kind);
bool pre_tokenizer_adds_bos(PreTokenizerKind kind);

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
  // Pieces are valid UTF-8 except for the kinds with byte-level digit rules (falcon).
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  struct Compiled;
  PreTokenizerKind kind_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace hearth::tokenizer
