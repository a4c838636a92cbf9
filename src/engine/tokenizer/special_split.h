// Splitting text at special tokens before the encoders run (llama.cpp's tokenizer_st_partition).
//
// Special tokens are taken longest first; each one is searched in every text fragment left by
// the longer ones, and every occurrence splits its fragment into text | token | text. Control
// and unknown-type tokens take part only when parse_special is set; user-defined tokens always
// do. A token with strip_left / strip_right also removes the ASCII whitespace next to it.
//
// For a PromptText (prompt_text.h) an occurrence counts only where its bytes may become a
// special token: anywhere inside markup (as with parse_special), and inside one plain span only
// for a user-defined token that is no markup (Vocab::plain_ok). An occurrence that crosses the
// edge of a plain span stays text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/tokenizer/prompt_text.h"
#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

struct Fragment {
  int32_t token = kNoToken;  // kNoToken: a run of text to encode
  size_t offset = 0;         // text fragments: where the run starts in the input
  size_t length = 0;         // never 0 for a text fragment
};

// Fragments of `text` in order; empty text gives no fragments.
std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text, bool parse_special);
// The fragments of text, whose plain pieces are `plain` (sorted, not overlapping).
std::vector<Fragment> split_special(const Vocab& vocab, std::string_view text,
                                    std::span<const PromptText::Span> plain);

}  // namespace hearth::tokenizer
