// Ids back to text: what each token renders to (precomputed per vocabulary), decode(), and the
// streaming decoder. Rendering follows llama.cpp's token_to_piece: "▁" becomes a space in
// SentencePiece pieces, byte tokens <0xXX> become their byte, byte-level BPE pieces are mapped
// back from the GPT-2 alphabet, and special tokens render as their text.
#include <optional>

#include "engine/tokenizer/gpt2_bytes.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"
#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581 "▁"

std::string replace_space_markers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t found = text.find(kSpaceMarker, pos);
    if (found == std::string_view::npos) break;
    out.append(text.substr(pos, found - pos));
    out.push_back(' ');
    pos = found + kSpaceMarker.size();
  }
  out.append(text.substr(pos));
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The byte of a "<0xXX>" token text.
std::optional<char> byte_of(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return std::nullopt;
  const int hi = hex_digit(text[3]);
  const int lo = hex_digit(text[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<char>(hi * 16 + lo);
}

std::string render(const Vocab& v, int32_t id) {
  const std::string& text = v.texts[id];
  switch (v.types[id]) {
    case TokenType::control:
    case TokenType::unknown:
    case TokenType::user_defined:
      return text;
    case TokenType::normal:
      return v.model == TokenizerModel::spm ? replace_space_markers(text)
                                            : gpt2_bytes::decode(text);
    case TokenType::byte: {
      auto b = byte_of(text);
      return b ? std::string(1, *b) : std::string();
    }
    case TokenType::unused:
    case TokenType::undefined:
      return {};
  }
  return {};
}

std::string_view piece_of(const Vocab& v, int32_t id, bool render_special) {
  check_id(v, id);
  const TokenType t = v.types[id];
  if (!render_special && (t == TokenType::control || t == TokenType::unknown)) return {};
  return v.pieces[id];
}

}  // namespace

void build_pieces(Vocab& v) {
  v.pieces.resize(v.texts.size());
  for (int32_t id = 0; id < v.n_tokens(); ++id) v.pieces[id] = render(v, id);
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  return std::string(piece_of(*vocab_, id, render_special));
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special,
                              bool remove_space_prefix) const {
  for (int32_t id : ids) check_id(*vocab_, id);
  bool strip_space = remove_space_prefix && vocab_->add_space_prefix;
  std::string out;
  std::string pending;
  for (int32_t id : ids) {
    std::string_view piece = piece_of(*vocab_, id, render_special);
    if (piece.empty()) continue;
    if (strip_space && piece.front() == ' ') piece.remove_prefix(1);
    strip_space = false;
    utf8::append_complete(pending, piece, out);
  }
  utf8::flush_pending(pending, out);
  return out;
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool render_special)
    : tokenizer_(tokenizer), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  std::string out;
  utf8::append_complete(pending_, piece_of(*tokenizer_.vocab_, id, render_special_), out);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out;
  utf8::flush_pending(pending_, out);
  return out;
}

}  // namespace hearth::tokenizer
