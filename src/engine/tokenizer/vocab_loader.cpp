// load_vocab(): the tokenizer.* keys of a GGUF file -> Vocab, following llama.cpp's loader
// (llama-vocab.cpp) for defaults, special ids and the token types it corrects by text.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/log.h"
#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

constexpr std::string_view kSupportedModels = "llama (SentencePiece), gpt2 (byte-level BPE)";

[[noreturn]] void corrupt(const gguf::File& file, const std::string& what) {
  throw Error(ErrorKind::corrupt_file, file.name() + ": " + what);
}

int64_t integer_of(const gguf::Value& v) {
  switch (v.type) {
    case gguf::ValueType::i8:
    case gguf::ValueType::i16:
    case gguf::ValueType::i32:
    case gguf::ValueType::i64:
      return v.i;
    default:
      return static_cast<int64_t>(v.u);
  }
}

// An array under `key` with `count` items of an accepted element type; nullptr when absent.
const gguf::Value* find_array(const gguf::File& file, std::string_view key, size_t count,
                              bool (*accepts)(gguf::ValueType)) {
  const gguf::Value* v = file.find(key);
  if (v == nullptr) return nullptr;
  if (v->type != gguf::ValueType::array || !accepts(v->element_type)) {
    corrupt(file, std::string(key) + " has the wrong type");
  }
  if (v->items.size() != count) {
    corrupt(file, std::string(key) + " has " + std::to_string(v->items.size()) +
                      " entries but the vocabulary has " + std::to_string(count) + " tokens");
  }
  return v;
}

bool is_number_type(gguf::ValueType t) {
  return t == gguf::ValueType::f32 || t == gguf::ValueType::f64 || t == gguf::ValueType::i32;
}
bool is_integer_type(gguf::ValueType t) {
  return t != gguf::ValueType::string && t != gguf::ValueType::array && t != gguf::ValueType::f32 &&
         t != gguf::ValueType::f64 && t != gguf::ValueType::boolean;
}

void read_tokens(const gguf::File& file, Vocab& v) {
  const gguf::Value* tokens = file.get_array("tokenizer.ggml.tokens", gguf::ValueType::string);
  if (tokens == nullptr || tokens->items.empty()) {
    corrupt(file, "tokenizer.ggml.tokens is missing or empty");
  }
  if (tokens->items.size() > static_cast<size_t>(INT32_MAX)) corrupt(file, "too many tokens");
  const size_t n = tokens->items.size();
  const gguf::Value* scores = find_array(file, "tokenizer.ggml.scores", n, is_number_type);
  const gguf::Value* types = find_array(file, "tokenizer.ggml.token_type", n, is_integer_type);

  v.texts.reserve(n);
  v.scores.assign(n, 0.0f);
  v.types.assign(n, TokenType::normal);
  v.strip.assign(n, strip_none);
  for (size_t i = 0; i < n; ++i) {
    v.texts.push_back(tokens->items[i].s);
    if (scores != nullptr) {
      const gguf::Value& s = scores->items[i];
      const double score = s.is_float() ? s.f : static_cast<double>(integer_of(s));
      // A NaN would break the ordering of merge candidates; it ranks below everything instead.
      v.scores[i] =
          std::isnan(score) ? -std::numeric_limits<float>::infinity() : static_cast<float>(score);
    }
    if (types != nullptr) {
      const int64_t t = integer_of(types->items[i]);
      v.types[i] = t >= 0 && t <= 6 ? static_cast<TokenType>(t) : TokenType::undefined;
    }
  }
  // `texts` is complete and never changes again, so views into it stay valid. A text that
  // appears twice maps to its last id, as in llama.cpp.
  v.ids_by_text.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (!v.texts[i].empty()) v.ids_by_text[v.texts[i]] = static_cast<int32_t>(i);
  }
}

void read_merges(const gguf::File& file, Vocab& v) {
  const gguf::Value* merges = file.get_array("tokenizer.ggml.merges", gguf::ValueType::string);
  if (merges == nullptr) corrupt(file, "tokenizer.ggml.merges is missing (needed by gpt2)");
  v.merge_texts.reserve(merges->items.size());
  for (const gguf::Value& m : merges->items) v.merge_texts.push_back(m.s);
  v.merge_ranks.reserve(v.merge_texts.size());
  for (size_t i = 0; i < v.merge_texts.size(); ++i) {
    const std::string_view m = v.merge_texts[i];
    // The halves are split at the first space after the first character; the first rank of a
    // repeated pair wins. A line without a space can never match and is skipped.
    const size_t space = m.find(' ', 1);
    if (space == std::string_view::npos) continue;
    v.merge_ranks.try_emplace({m.substr(0, space), m.substr(space + 1)}, static_cast<int32_t>(i));
  }
}

void choose_model(const gguf::File& file, Vocab& v) {
  auto model = file.get_string("tokenizer.ggml.model");
  if (!model) {
    throw Error(ErrorKind::unsupported,
                file.name() + " has no tokenizer (tokenizer.ggml.model is missing); supported: " +
                    std::string(kSupportedModels));
  }
  v.model_name = *model;
  v.pre_name = file.get_string("tokenizer.ggml.pre").value_or("default");
  if (v.model_name == "llama") {
    v.model = TokenizerModel::spm;
    v.bos = 1;
    v.eos = 2;
    v.unk = 0;
    v.add_bos = true;
    v.add_space_prefix = true;
  } else if (v.model_name == "gpt2") {
    v.model = TokenizerModel::bpe;
    // llama.cpp defaults bos and eos to 11 here; no real file relies on that, so none.
    auto kind = pre_tokenizer_from_name(v.pre_name);
    if (!kind) {
      throw Error(ErrorKind::unsupported, file.name() + ": pre-tokenizer '" + v.pre_name +
                                              "' (tokenizer.ggml.pre) is not supported; "
                                              "supported: " +
                                              supported_pre_tokenizer_names());
    }
    v.pre_tokenizer = std::make_unique<PreTokenizer>(*kind);
    v.ignore_merges = pre_tokenizer_takes_whole_words(*kind);
    v.add_bos = pre_tokenizer_adds_bos(*kind);
  } else {
    throw Error(ErrorKind::unsupported, file.name() + ": tokenizer model '" + v.model_name +
                                            "' (tokenizer.ggml.model) is not supported; "
                                            "supported: " +
                                            std::string(kSupportedModels));
  }
  if (auto prefix = file.get_bool("tokenizer.ggml.add_space_prefix")) {
    v.add_space_prefix = *prefix && v.model == TokenizerModel::spm;
  }
}

void read_special_ids(const gguf::File& file, Vocab& v) {
  const std::pair<const char*, int32_t*> keys[] = {
      {"tokenizer.ggml.bos_token_id", &v.bos},       {"tokenizer.ggml.eos_token_id", &v.eos},
      {"tokenizer.ggml.eot_token_id", &v.eot},       {"tokenizer.ggml.eom_token_id", &v.eom},
      {"tokenizer.ggml.unknown_token_id", &v.unk},   {"tokenizer.ggml.padding_token_id", &v.pad},
      {"tokenizer.ggml.seperator_token_id", &v.sep},
  };
  for (const auto& [key, id] : keys) {
    if (!v.valid_id(*id)) *id = kNoToken;  // a default the vocabulary is too small for
    auto value = file.get_int(key);
    if (!value) continue;
    if (*value >= 0 && *value < v.n_tokens()) {
      *id = static_cast<int32_t>(*value);
    } else {
      spdlog::warn("{}: {} = {} is outside the vocabulary; ignored", file.name(), key, *value);
    }
  }
  if (auto b = file.get_bool("tokenizer.ggml.add_bos_token")) v.add_bos = *b;
  if (auto e = file.get_bool("tokenizer.ggml.add_eos_token")) v.add_eos = *e;
  if (v.add_bos && v.bos == kNoToken) {
    spdlog::warn("{}: add_bos_token is set but there is no BOS token; none is added", file.name());
    v.add_bos = false;
  }
  if (v.add_eos && v.eos == kNoToken) {
    spdlog::warn("{}: add_eos_token is set but there is no EOS token; none is added", file.name());
    v.add_eos = false;
  }
}

}  // namespace

void mark_special_tokens(const gguf::File& file, Vocab& v);  // special_setup.cpp
void build_pieces(Vocab& v);                                 // detokenizer.cpp

std::shared_ptr<const Vocab> load_vocab(const gguf::File& file) {
  auto v = std::make_shared<Vocab>();
  choose_model(file, *v);
  read_tokens(file, *v);
  if (v->model == TokenizerModel::bpe) read_merges(file, *v);
  read_special_ids(file, *v);

  v->byte_tokens.fill(kNoToken);
  if (v->model == TokenizerModel::spm) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
      const std::string name = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
      int32_t id = v->find(name);
      if (id == kNoToken) id = v->find(std::string(1, static_cast<char>(b)));
      v->byte_tokens[b] = id;
    }
    v->spm_word_split = spm_pieces_allow_word_split(v->texts);
  }
  mark_special_tokens(file, *v);
  build_pieces(*v);
  return v;
}

void check_id(const Vocab& vocab, int32_t id) {
  if (!vocab.valid_id(id)) {
    throw Error(ErrorKind::invalid_input, "token id " + std::to_string(id) +
                                              " is outside the vocabulary (valid ids: 0 to " +
                                              std::to_string(vocab.n_tokens() - 1) + ")");
  }
}

}  // namespace hearth::tokenizer
