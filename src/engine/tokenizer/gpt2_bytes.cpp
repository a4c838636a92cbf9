#include "engine/tokenizer/gpt2_bytes.h"

#include <array>

#include "engine/tokenizer/utf8.h"

namespace hearth::tokenizer::gpt2_bytes {

namespace {

struct Tables {
  std::array<std::string, 256> spelling;  // byte -> UTF-8 of its stand-in
  std::array<int16_t, 0x144> byte_of;     // stand-in code point -> byte, -1 if none

  Tables() {
    byte_of.fill(-1);
    uint32_t next_extra = 0x100;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? b : next_extra++;
      byte_of[cp] = static_cast<int16_t>(b);
      // Every stand-in is below U+0800: one or two UTF-8 bytes.
      if (cp < 0x80) {
        spelling[b] = std::string(1, static_cast<char>(cp));
      } else {
        spelling[b] = {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      }
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view encode_byte(uint8_t b) {
  return tables().spelling[b];
}

std::string encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out.append(t.spelling[static_cast<uint8_t>(c)]);
  return out;
}

std::string decode(std::string_view text) {
  const Tables& t = tables();
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const utf8::Scan s = utf8::scan(text, pos);
    if (s.status == utf8::Status::complete && s.length <= 2) {
      const auto b0 = static_cast<uint8_t>(text[pos]);
      uint32_t cp = b0;
      if (s.length == 2) cp = ((b0 & 0x1Fu) << 6) | (static_cast<uint8_t>(text[pos + 1]) & 0x3Fu);
      if (cp < t.byte_of.size() && t.byte_of[cp] >= 0) {
        out.push_back(static_cast<char>(t.byte_of[cp]));
        pos += s.length;
        continue;
      }
    }
    out.append(text.substr(pos, s.length));
    pos += s.length;
  }
  return out;
}

}  // namespace hearth::tokenizer::gpt2_bytes
