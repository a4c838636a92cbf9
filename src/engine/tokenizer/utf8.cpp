#include "engine/tokenizer/utf8.h"

#include <cstdint>

namespace hearth::tokenizer::utf8 {

namespace {

// Total length of the sequence a lead byte starts, 0 for a byte that cannot start one.
size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The allowed range of the second byte depends on the lead (this rules out overlong forms,
// surrogates and code points above U+10FFFF); later bytes are always 80..BF.
bool second_byte_ok(uint8_t lead, uint8_t b) {
  switch (lead) {
    case 0xE0:
      return b >= 0xA0 && b <= 0xBF;
    case 0xED:
      return b >= 0x80 && b <= 0x9F;
    case 0xF0:
      return b >= 0x90 && b <= 0xBF;
    case 0xF4:
      return b >= 0x80 && b <= 0x8F;
    default:
      return b >= 0x80 && b <= 0xBF;
  }
}

}  // namespace

Scan scan(std::string_view text, size_t pos) {
  const auto lead = static_cast<uint8_t>(text[pos]);
  const size_t need = sequence_length(lead);
  if (need == 0) return {Status::invalid, 1};
  if (need == 1) return {Status::complete, 1};
  const size_t available = text.size() - pos;
  for (size_t i = 1; i < need; ++i) {
    if (i >= available) return {Status::incomplete, available};
    const auto b = static_cast<uint8_t>(text[pos + i]);
    const bool ok = i == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {Status::invalid, i};
  }
  return {Status::complete, need};
}

std::string sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const Scan s = scan(text, pos);
    if (s.status == Status::complete) {
      out.append(text.substr(pos, s.length));
    } else {
      out.append(kReplacement);
    }
    pos += s.length;
  }
  return out;
}

bool is_valid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const Scan s = scan(text, pos);
    if (s.status != Status::complete) return false;
    pos += s.length;
  }
  return true;
}

void append_complete(std::string& pending, std::string_view bytes, std::string& out) {
  if (bytes.empty()) return;
  // Only the held-back tail (at most 3 bytes) is copied; the rest is scanned in place.
  std::string joined;
  std::string_view text = bytes;
  if (!pending.empty()) {
    joined = pending;
    joined.append(bytes);
    text = joined;
    pending.clear();
  }
  size_t pos = 0;
  while (pos < text.size()) {
    const Scan s = scan(text, pos);
    if (s.status == Status::incomplete) {
      pending.assign(text.substr(pos));
      return;
    }
    if (s.status == Status::complete) {
      out.append(text.substr(pos, s.length));
    } else {
      out.append(kReplacement);
    }
    pos += s.length;
  }
}

void flush_pending(std::string& pending, std::string& out) {
  if (!pending.empty()) out.append(kReplacement);
  pending.clear();
}

}  // namespace hearth::tokenizer::utf8
