// SentencePiece-style encoding as llama.cpp's llm_tokenizer_spm_session does it: characters are
// the starting symbols, and the neighbouring pair whose concatenation is the highest-scoring
// vocabulary piece merges first (leftmost on ties), until no pair forms a piece.
#include <algorithm>

#include "engine/tokenizer/encoders.h"
#include "engine/tokenizer/symbol_merge.h"
#include "engine/tokenizer/utf8.h"

namespace hearth::tokenizer {

namespace {

void append_bytes(const Vocab& vocab, std::string_view bytes, std::vector<int32_t>& out) {
  for (char c : bytes) {
    int32_t id = vocab.byte_tokens[static_cast<uint8_t>(c)];
    if (id == kNoToken) id = vocab.unk;
    if (id != kNoToken) out.push_back(id);
  }
}

}  // namespace

void encode_spm(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
  if (text.empty()) return;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t length = utf8::scan(text, pos).length;
    symbols.push_back({-1, -1, pos, length});
    pos += length;
  }
  link_symbols(symbols);

  merge_symbols(text, symbols,
                [&](std::string_view left, std::string_view right) -> std::optional<double> {
                  // Neighbours are adjacent in the text, so their concatenation is a view.
                  const std::string_view joined(left.data(), left.size() + right.size());
                  const int32_t id = vocab.find(joined);
                  if (id == kNoToken) return std::nullopt;
                  return static_cast<double>(vocab.scores[id]);
                });

  for (int32_t i = 0; i >= 0; i = symbols[i].next) {
    const std::string_view piece = text.substr(symbols[i].start, symbols[i].length);
    const int32_t id = vocab.find(piece);
    if (id != kNoToken) {
      out.push_back(id);
    } else {
      append_bytes(vocab, piece, out);
    }
  }
}

}  // namespace hearth::tokenizer
