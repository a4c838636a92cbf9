// The two encoders behind Tokenizer::encode (internal). Each appends the ids of one run of text
// without special tokens to `out`.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

// SentencePiece-style BPE by scores ("llama"). `text` is already prepared: spaces replaced by
// "▁" and the prefix added. Any bytes are accepted: a byte that is not part of a well-formed
// character is its own symbol and comes out as a byte token.
void encode_spm(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

// Byte-level BPE by merge ranks ("gpt2"). `text` must be valid UTF-8 (the pre-tokenizer needs
// it); Tokenizer::encode replaces invalid parts by U+FFFD first.
void encode_bpe(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace hearth::tokenizer
