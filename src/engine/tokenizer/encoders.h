// The two encoders behind Tokenizer::encode (internal). Each appends the ids of one run of text
// without special tokens to `out`. `cache` (vocab.word_cache, or null to run every merge) answers
// for words seen before; the ids are the same either way.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/tokenizer/vocab.h"

namespace hearth::tokenizer {

// SentencePiece-style BPE by scores ("llama"). `text` is already prepared: spaces replaced by
// "▁" and the prefix added. Any bytes are accepted: a byte that is not part of a well-formed
// character is its own symbol and comes out as a byte token.
void encode_spm(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out,
                WordCache* cache);

// Byte-level BPE by merge ranks ("gpt2"). `text` must be valid UTF-8 (the pre-tokenizer needs
// it); Tokenizer::encode replaces invalid parts by U+FFFD first.
void encode_bpe(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out,
                WordCache* cache);

// Whether a "llama" vocabulary may be encoded word by word (Vocab::spm_word_split).
bool spm_pieces_allow_word_split(const std::vector<std::string>& texts);

}  // namespace hearth::tokenizer
