// GPT-2's byte-level alphabet: every byte value has a printable stand-in character, so byte-level
// BPE vocabularies store arbitrary bytes as ordinary Unicode text. Printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68 bytes map, in order, to
// U+0100..U+0143 ('Ā'..'Ń'), e.g. the space 0x20 to 'Ġ' and the newline 0x0A to 'Ċ'.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hearth::tokenizer::gpt2_bytes {

// The UTF-8 spelling of the stand-in for byte `b`.
std::string_view encode_byte(uint8_t b);

// `bytes` spelled in the stand-in alphabet (each byte becomes one character).
std::string encode(std::string_view bytes);

// Stand-ins back to bytes. Characters outside the alphabet (vocabularies sometimes contain them)
// are kept as their own UTF-8 bytes rather than dropped.
std::string decode(std::string_view text);

}  // namespace hearth::tokenizer::gpt2_bytes
