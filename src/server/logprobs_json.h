// Token log-probabilities (generate::TokenLogprobs) in the shapes the APIs answer with.
//
//   entry (OpenAI chat `choices[i].logprobs.content[k]`, Ollama `logprobs[k]`):
//     {"token": TEXT, "logprob": X, "bytes": [B, ...],
//      "top_logprobs": [{"token": TEXT, "logprob": X, "bytes": [B, ...]}, ...]}
//   completions (OpenAI `choices[i].logprobs`):
//     {"tokens": [TEXT, ...], "token_logprobs": [X, ...],
//      "top_logprobs": [{TEXT: X, ...}, ...], "text_offset": [N, ...]}
//
// TEXT is the token's bytes as a string, where a token that is not whole UTF-8 on its own gets
// U+FFFD in place of the broken part (JSON text must be UTF-8); "bytes" are always exact. A
// logprob of -infinity (a token the model rules out) is written as -9999.0, as OpenAI does.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <span>

#include "engine/generate/request.h"

namespace hearth::server {

// The entries of these tokens, appended to `out`.
void append_logprob_entries(boost::json::array& out,
                            std::span<const generate::TokenLogprobs> tokens);
boost::json::array logprob_entries(std::span<const generate::TokenLogprobs> tokens);

// The completions shape for these tokens. text_offset counts characters of the completion's
// text (from 0), `offset` being where the first of these tokens starts; it is advanced past them.
boost::json::object completion_logprobs(std::span<const generate::TokenLogprobs> tokens,
                                        std::int64_t& offset);

}  // namespace hearth::server
