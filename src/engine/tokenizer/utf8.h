// UTF-8 helpers shared by the encoders and the detokenizer (internal to the tokenizer module).
//
// Well-formed sequences follow Unicode Table 3-7 (no overlong forms, no surrogates, nothing above
// U+10FFFF). Ill-formed input is replaced the way Unicode recommends ("maximal subparts", also
// what Python's errors="replace" does): each maximal prefix of a would-be sequence that cannot be
// completed becomes one U+FFFD.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace hearth::tokenizer::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

enum class Status { complete, invalid, incomplete };

struct Scan {
  Status status;
  // complete: bytes in the sequence; invalid: bytes in the maximal subpart to replace (>= 1);
  // incomplete: bytes available, all of them a valid start that the end of input cut short.
  size_t length;
};

// Examines the sequence that starts at text[pos] (pos < text.size()).
Scan scan(std::string_view text, size_t pos);

// `text` with every ill-formed part replaced by U+FFFD (a truncated sequence at the end too).
std::string sanitize(std::string_view text);

bool is_valid(std::string_view text);

// Streaming assembly: `pending` holds the valid start of a character that a chunk cut short (at
// most 3 bytes). append_complete() appends to `out` the valid UTF-8 of pending + bytes, keeping a
// new incomplete tail in `pending`, so pieces never split a character; ill-formed parts become
// U+FFFD. flush_pending() ends the stream: a held-back tail comes out as U+FFFD.
void append_complete(std::string& pending, std::string_view bytes, std::string& out);
void flush_pending(std::string& pending, std::string& out);

}  // namespace hearth::tokenizer::utf8
