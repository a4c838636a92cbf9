// One running generation inside a ModelRunner (runner.h): its prompt, how far it got, and the
// per-sequence machinery (sampler, streaming detokenizer, stop strings, JSON constraint).
// Private to engine/generate.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/chat/reply_parser.h"
#include "engine/generate/json_constraint.h"
#include "engine/generate/runner.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::generate {

struct ModelRunner::Sequence {
  Sequence(const Request& r, const tokenizer::Tokenizer& tok, int n_vocab)
      : request(r), sampler(r.sampling, n_vocab), decoder(tok), stops(r.stop) {}

  Request request;
  std::vector<int32_t> prompt;
  size_t fed = 0;    // prompt tokens in the cache so far
  int pos = 0;       // where the next generated token goes
  int limit = 0;     // this sequence's context
  int n_generated = 0;
  bool running = false;     // started and not finished
  bool generating = false;  // the prompt is done; `next` is the token to decode
  int32_t next = -1;
  sampler::Sampler sampler;
  tokenizer::StreamDecoder decoder;
  sampler::StopStrings stops;
  std::optional<JsonConstraint> json;  // format json / json_schema / a forced call
  std::optional<chat::ReplyParser> reply;  // chat requests: reasoning, text and calls apart
};

}  // namespace hearth::generate
