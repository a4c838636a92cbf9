// Byte-level BPE as llama.cpp's llm_tokenizer_bpe_session does it: the pre-tokenizer cuts the
// text into words, each word's bytes are spelled in the GPT-2 byte alphabet (one symbol per
// byte), and the neighbouring pair with the lowest merge rank merges first (leftmost on ties).
#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/gpt2_bytes.h"
#include "engine/tokenizer/symbol_merge.h"

namespace hearth::tokenizer {

namespace {

void encode_word(const Vocab& vocab, std::string_view word, std::vector<Symbol>& symbols,
                 std::vector<int32_t>& out) {
  const std::string spelled = gpt2_bytes::encode(word);
  if (vocab.ignore_merges) {
    if (const int32_t id = vocab.find(spelled); id != kNoToken) {
      out.push_back(id);
      return;
    }
  }
  symbols.clear();
  for (size_t pos = 0; pos < spelled.size();) {
    // Stand-ins are one UTF-8 byte for ASCII, two otherwise.
    const size_t length = static_cast<uint8_t>(spelled[pos]) < 0x80 ? 1 : 2;
    symbols.push_back({-1, -1, pos, length});
    pos += length;
  }
  link_symbols(symbols);

  merge_symbols(spelled, symbols,
                [&](std::string_view left, std::string_view right) -> std::optional<double> {
                  const int32_t rank = vocab.merge_rank(left, right);
                  if (rank < 0) return std::nullopt;
                  return -static_cast<double>(rank);
                });

  const std::string_view text = spelled;
  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].start, symbols[i].length);
    if (const int32_t id = vocab.find(piece); id != kNoToken) {
      out.push_back(id);
      continue;
    }
    // A symbol outside the vocabulary (a merge whose result the file lacks): llama.cpp falls
    // back to looking up each of its bytes as a one-byte token.
    for (char c : piece) {
      if (const int32_t id = vocab.find(std::string_view(&c, 1)); id != kNoToken) out.push_back(id);
    }
  }
}

}  // namespace

void encode_bpe(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out,
                WordCache* cache) {
  std::vector<Symbol> symbols;
  for (std::string_view word : vocab.pre_tokenizer->split(text)) {
    // A word's ids depend on its bytes alone, so a stored answer is the merges' answer.
    if (cache != nullptr && cache->lookup(word, out)) continue;
    const size_t first = out.size();
    encode_word(vocab, word, symbols, out);
    if (cache != nullptr) cache->insert(word, std::span(out).subspan(first));
  }
}

}  // namespace hearth::tokenizer
