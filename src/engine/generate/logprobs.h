// Log-probabilities of a decode step's tokens (Request::logprobs): the log-softmax of the model's
// raw logits, the same numbers `hearth logits` prints after a log-softmax.
#pragma once

#include <cstdint>
#include <span>

#include "engine/generate/request.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::generate {

// The chosen token's log-probability and the `top` most likely tokens (0..kMaxTopLogprobs), by
// logprob descending and equal ones by id ascending. Two passes over the logits: the largest,
// then the normaliser (in double: max + log of the sum of exp(x - max)) and the top together;
// NaN logits count as -infinity. Bytes are each token's piece with control tokens written out.
TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int top,
                             const tokenizer::Tokenizer& tokenizer);

}  // namespace hearth::generate
