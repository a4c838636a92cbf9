// The split rules behind each PreTokenizerKind (internal to the tokenizer module): the list of
// expressions pretokenize.cpp applies in turn, each with the alphabet it reads.
#pragma once

#include <vector>

#include "engine/tokenizer/pretokenize.h"

namespace hearth::tokenizer {

// What an expression reads. `characters`: UTF-8 text, \p{..} and \s by Unicode properties.
// `bytes`: the text as the GPT-2 byte mapping spells it, one character per byte; the mapping is
// one-to-one, so such an expression is written over the raw byte values (the byte 0xBC, which
// the mapping shows as '¼', is `\xBC`). Once a byte expression has run, pieces may end inside a
// character, so only byte expressions may follow it.
enum class StageInput { characters, bytes };

struct Stage {
  const char* pattern;
  StageInput input = StageInput::characters;
};

std::vector<Stage> stages_for(PreTokenizerKind kind);

}  // namespace hearth::tokenizer
