// Constrained sampling for JSON output (format json, response_format json_object/json_schema):
// which token a sequence takes next so that its text stays a prefix of a value the schema
// accepts and always closes within the token budget.
//
// Shape: per step, the sampler's own pick is tried first (one state copy and a few bytes fed);
// only when it does not fit are all tokens checked, and then only those whose first byte the
// state accepts (JsonVocab keeps the vocabulary grouped by first byte). Closing in budget: a
// token is taken only when, after it, the shortest completion (JsonSchemaState::completion(),
// cut into tokens greedily, longest piece first) still fits in what is left of max_tokens and
// of the context. When nothing else fits, the constraint writes that completion itself, token
// by token, and reports forced(): the output is valid JSON whose last values are the shortest
// the schema allows, and the runner says finish_reason "length" (the budget cut the model's own
// answer short, as OpenAI reports it), so a client can tell a closed-but-cut answer from a
// finished one.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/generate/json_schema.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::generate {

// The vocabulary as the constraint sees it, built once per model.
struct JsonVocab {
  explicit JsonVocab(const tokenizer::Tokenizer& tok);
  // Each token's bytes; empty for tokens JSON output never uses (end of generation, control).
  std::vector<std::string> pieces;
  // Per first byte, the tokens whose piece starts with it, longest piece first.
  std::array<std::vector<int32_t>, 256> by_first;
  // `text` cut greedily into the longest pieces; nullopt when some byte has no token.
  std::optional<std::vector<int32_t>> tokens(std::string_view text) const;
};

// The shared compiled form of {"type":"object"} (format json / json_object).
std::shared_ptr<const JsonSchema> any_object_schema();

class JsonConstraint {
 public:
  JsonConstraint(std::shared_ptr<const JsonSchema> schema, std::shared_ptr<const JsonVocab> vocab);

  // The next token given the model's logits and `budget`, the tokens that may still be written
  // (this one included). -1 when no token can continue the value.
  int32_t choose(sampler::Sampler& sampler, std::span<const float> logits, int budget);
  // Records the token taken (the one choose() gave).
  void accept(int32_t id);
  bool complete() const { return state_.complete(); }
  bool forced() const { return forced_; }

 private:
  bool room(const JsonSchemaState& after, int budget) const;

  std::shared_ptr<const JsonSchema> schema_;
  std::shared_ptr<const JsonVocab> vocab_;
  JsonSchemaState state_;
  std::vector<int32_t> queue_;  // the completion being written, once forced
  size_t queued_ = 0;           // how much of it is written
  bool forced_ = false;
};

}  // namespace hearth::generate
