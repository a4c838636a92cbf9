// Tokenizer: construction, the encode driver (special tokens, then the model's encoder), and the
// vocabulary accessors. Decoding lives in detokenizer.cpp.
#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/special_split.h"
#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/vocab.h"
#include "engine/tokenizer/word_cache.h"

namespace hearth::tokenizer {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

// The text SentencePiece encodes: an optional leading space, then every space as "▁".
std::string spm_prepare(std::string_view text, bool prefix_space) {
  std::string out;
  out.reserve(text.size() + 3 * (prefix_space ? 1 : 0) + 8);
  if (prefix_space) out.append(kSpaceMarker);
  for (char c : text) {
    if (c == ' ') {
      out.append(kSpaceMarker);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::File& file) {
  return Tokenizer(load_vocab(file));
}

namespace {

// The ids of `text` cut into `fragments` (special_split.h), with BOS/EOS as add_special asks.
std::vector<int32_t> encode_fragments(const Vocab& v, std::string_view text,
                                      const std::vector<Fragment>& fragments, bool add_special) {
  WordCache* cache = word_cache_enabled() ? &v.word_cache : nullptr;
  std::vector<int32_t> out;
  if (add_special && v.add_bos) out.push_back(v.bos);

  // The "▁" prefix goes on the first text and after every special token, as in llama.cpp.
  bool after_special = true;
  for (const Fragment& f : fragments) {
    if (f.token != kNoToken) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view run = text.substr(f.offset, f.length);
    if (v.model == TokenizerModel::spm) {
      encode_spm(v, spm_prepare(run, v.add_space_prefix && after_special), out, cache);
    } else if (utf8::is_valid(run)) {
      encode_bpe(v, run, out, cache);
    } else {
      encode_bpe(v, utf8::sanitize(run), out, cache);
    }
    after_special = false;
  }

  if (add_special && v.add_eos) out.push_back(v.eos);
  return out;
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  return encode_fragments(*vocab_, text, split_special(*vocab_, text, parse_special), add_special);
}

std::vector<int32_t> Tokenizer::encode(const PromptText& prompt, bool add_special) const {
  const std::string& text = prompt.text();
  return encode_fragments(*vocab_, text, split_special(*vocab_, text, prompt.plain_spans()),
                          add_special);
}

bool Tokenizer::is_markup(int32_t id) const {
  check_id(*vocab_, id);
  switch (vocab_->types[id]) {
    case TokenType::control:
    case TokenType::unknown:
      return true;
    case TokenType::user_defined:
      return vocab_->plain_ok[static_cast<size_t>(id)] == 0;
    default:
      return false;
  }
}

TokenizerModel Tokenizer::model() const {
  return vocab_->model;
}
const std::string& Tokenizer::model_name() const {
  return vocab_->model_name;
}
const std::string& Tokenizer::pre_tokenizer_name() const {
  return vocab_->pre_name;
}
int32_t Tokenizer::n_vocab() const {
  return vocab_->n_tokens();
}
int32_t Tokenizer::bos() const {
  return vocab_->bos;
}
int32_t Tokenizer::eos() const {
  return vocab_->eos;
}
int32_t Tokenizer::eot() const {
  return vocab_->eot;
}
int32_t Tokenizer::eom() const {
  return vocab_->eom;
}
int32_t Tokenizer::unk() const {
  return vocab_->unk;
}
int32_t Tokenizer::pad() const {
  return vocab_->pad;
}
int32_t Tokenizer::sep() const {
  return vocab_->sep;
}
bool Tokenizer::add_bos() const {
  return vocab_->add_bos;
}
bool Tokenizer::add_eos() const {
  return vocab_->add_eos;
}
bool Tokenizer::add_space_prefix() const {
  return vocab_->add_space_prefix;
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(vocab_->eog_ids.begin(), vocab_->eog_ids.end(), id);
}
const std::vector<int32_t>& Tokenizer::eog_ids() const {
  return vocab_->eog_ids;
}

TokenType Tokenizer::token_type(int32_t id) const {
  check_id(*vocab_, id);
  return vocab_->types[id];
}
const std::string& Tokenizer::token_text(int32_t id) const {
  check_id(*vocab_, id);
  return vocab_->texts[id];
}
float Tokenizer::token_score(int32_t id) const {
  check_id(*vocab_, id);
  return vocab_->scores[id];
}
std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = vocab_->find(text);
  if (id == kNoToken) return std::nullopt;
  return id;
}

}  // namespace hearth::tokenizer
