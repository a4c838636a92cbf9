// The loaded vocabulary behind a Tokenizer (internal to the tokenizer module): everything read
// from the tokenizer.* keys plus the lookup tables the encoders and the detokenizer need.
// Built once by load_vocab() and immutable afterwards; the string_view keys of the lookup maps
// point into `texts` and `merge_texts`, so a Vocab is neither copied nor moved.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/pretokenize.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/word_cache.h"

namespace hearth::tokenizer {

// Whitespace a special token swallows next to it when it is matched in text (llama.cpp's
// LSTRIP / RSTRIP token attributes).
enum StripFlags : uint8_t { strip_none = 0, strip_left = 1, strip_right = 2 };

struct MergePairHash {
  size_t operator()(const std::pair<std::string_view, std::string_view>& p) const {
    const size_t a = std::hash<std::string_view>{}(p.first);
    const size_t b = std::hash<std::string_view>{}(p.second);
    return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};

struct Vocab {
  Vocab() = default;
  Vocab(const Vocab&) = delete;
  Vocab& operator=(const Vocab&) = delete;

  TokenizerModel model = TokenizerModel::spm;
  std::string model_name;  // tokenizer.ggml.model
  std::string pre_name;    // tokenizer.ggml.pre, "default" when absent

  // Per token, indexed by id.
  std::vector<std::string> texts;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::vector<uint8_t> strip;       // StripFlags
  std::vector<std::string> pieces;  // the bytes the token renders to when specials are rendered

  std::unordered_map<std::string_view, int32_t> ids_by_text;  // non-empty texts only

  // "llama": the token for each raw byte (<0xXX>, else the one-byte piece), kNoToken if none.
  std::array<int32_t, 256> byte_tokens{};

  // "gpt2": merge ranks keyed by the two halves of "left right", the pre-tokenizer, and whether
  // a word that is a whole token skips the merges (llama.cpp's ignore_merges, Llama 3 / Tekken).
  std::vector<std::string> merge_texts;
  std::unordered_map<std::pair<std::string_view, std::string_view>, int32_t, MergePairHash>
      merge_ranks;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  bool ignore_merges = false;

  int32_t bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken;
  int32_t unk = kNoToken, pad = kNoToken, sep = kNoToken;
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  std::vector<int32_t> eog_ids;  // sorted

  // Tokens matched in text before the encoders run (control, user-defined and unknown types),
  // longest text first, ties by id.
  std::vector<int32_t> special_tokens;
  // Per token: 1 for the user-defined tokens that plain text of a PromptText may still turn
  // into (neither a named special token nor written like markup; Tokenizer::is_markup()).
  std::vector<uint8_t> plain_ok;

  // "llama": true when no piece holds a "▁" right after another character, so no merge can join
  // a character to the "▁" that follows it and the text can be encoded word by word ("▁" runs
  // and all) with the same result as in one piece. Checked at load time.
  bool spm_word_split = false;
  // Ids of words encoded before (word_cache.h); the only part of a Vocab that changes after
  // load_vocab(), and it locks for itself.
  mutable WordCache word_cache;

  int32_t n_tokens() const { return static_cast<int32_t>(texts.size()); }
  bool valid_id(int32_t id) const { return id >= 0 && id < n_tokens(); }
  int32_t find(std::string_view text) const {
    auto it = ids_by_text.find(text);
    return it == ids_by_text.end() ? kNoToken : it->second;
  }
  int32_t merge_rank(std::string_view left, std::string_view right) const {
    auto it = merge_ranks.find({left, right});
    return it == merge_ranks.end() ? -1 : it->second;
  }
};

// Reads the tokenizer.* keys of `file`; errors as documented on Tokenizer::from_gguf.
std::shared_ptr<const Vocab> load_vocab(const gguf::File& file);

// Throws Error(invalid_input) naming the id and the vocabulary size unless vocab.valid_id(id).
void check_id(const Vocab& vocab, int32_t id);

}  // namespace hearth::tokenizer
