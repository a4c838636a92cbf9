// SentencePiece-style encoding as llama.cpp's llm_tokenizer_spm_session does it: characters are
// the starting symbols, and the neighbouring pair whose concatenation is the highest-scoring
// vocabulary piece merges first (leftmost on ties), until no pair forms a piece.
//
// With a word cache, the text is cut before every "▁" that follows another character, when the
// vocabulary allows it (no piece holds such a pair, so no merge crosses the cut). Merges inside
// one word then never see another word: each word's merges run in the same order as in the whole
// text, and its ids are the same.
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

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

void encode_piece(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out) {
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

// Where the next word starts: the next "▁" at or after `from` that follows a character other
// than "▁"; text.size() when none does.
size_t next_word_start(std::string_view text, size_t from) {
  for (size_t pos = text.find(kSpaceMarker, from); pos != std::string_view::npos;
       pos = text.find(kSpaceMarker, pos + 1)) {
    if (pos >= kSpaceMarker.size() &&
        text.substr(pos - kSpaceMarker.size(), kSpaceMarker.size()) == kSpaceMarker)
      continue;
    return pos;
  }
  return text.size();
}

}  // namespace

bool spm_pieces_allow_word_split(const std::vector<std::string>& texts) {
  for (const std::string& piece : texts) {
    const std::string_view p = piece;
    // A "▁" at offset 0 starts the piece; at offset 1 or 2 it follows part of something else.
    if (p.size() > kSpaceMarker.size() && next_word_start(p, 1) != p.size()) return false;
  }
  return true;
}

void encode_spm(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out,
                WordCache* cache) {
  if (cache == nullptr || !vocab.spm_word_split) {
    encode_piece(vocab, text, out);
    return;
  }
  for (size_t start = 0; start < text.size();) {
    const size_t end = next_word_start(text, start + 1);
    const std::string_view word = text.substr(start, end - start);
    start = end;
    if (cache->lookup(word, out)) continue;
    const size_t first = out.size();
    encode_piece(vocab, word, out);
    cache->insert(word, std::span(out).subspan(first));
  }
}

}  // namespace hearth::tokenizer
