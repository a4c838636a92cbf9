#include "engine/generate/json_constraint.h"

#include <algorithm>
#include <limits>

namespace hearth::generate {

JsonVocab::JsonVocab(const tokenizer::Tokenizer& tok) {
  const int32_t n = tok.n_vocab();
  pieces.resize(static_cast<size_t>(n));
  for (int32_t id = 0; id < n; ++id) {
    if (tok.is_eog(id)) continue;
    pieces[static_cast<size_t>(id)] = tok.token_to_piece(id, /*render_special=*/false);
    const std::string& p = pieces[static_cast<size_t>(id)];
    if (!p.empty()) by_first[static_cast<unsigned char>(p[0])].push_back(id);
  }
  for (auto& ids : by_first)
    std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
      return pieces[static_cast<size_t>(a)].size() > pieces[static_cast<size_t>(b)].size();
    });
}

std::optional<std::vector<int32_t>> JsonVocab::tokens(std::string_view text) const {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    bool found = false;
    for (int32_t id : by_first[static_cast<unsigned char>(text[i])]) {
      const std::string& p = pieces[static_cast<size_t>(id)];
      if (text.compare(i, p.size(), p) == 0) {
        out.push_back(id);
        i += p.size();
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return out;
}

std::shared_ptr<const JsonSchema> any_object_schema() {
  static const std::shared_ptr<const JsonSchema> schema = compile_json_schema(R"({"type":"object"})");
  return schema;
}

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonSchema> schema,
                               std::shared_ptr<const JsonVocab> vocab)
    : schema_(std::move(schema)), vocab_(std::move(vocab)), state_(*schema_) {}

bool JsonConstraint::room(const JsonSchemaState& after, int budget) const {
  if (after.complete()) return true;
  const auto rest = vocab_->tokens(after.completion());
  // A vocabulary missing a byte of the completion cannot promise a close: carry on unchecked.
  return !rest || 1 + static_cast<int>(rest->size()) <= budget;
}

int32_t JsonConstraint::choose(sampler::Sampler& sampler, std::span<const float> logits,
                               int budget) {
  if (queued_ < queue_.size()) return queue_[queued_];
  const auto& pieces = vocab_->pieces;
  auto piece = [&](int32_t id) -> const std::string& { return pieces[static_cast<size_t>(id)]; };
  const int32_t first = sampler.sample(logits);
  if (first >= 0 && static_cast<size_t>(first) < pieces.size() && !piece(first).empty()) {
    JsonSchemaState trial = state_;
    if (trial.feed(piece(first)) && room(trial, budget)) return first;
  }
  // The model's pick breaks the value or the budget: sample again among the tokens that keep
  // the value valid, checking only those whose first byte fits.
  std::vector<float> masked(logits.size(), -std::numeric_limits<float>::infinity());
  bool any = false;
  for (int b = 0; b < 256; ++b) {
    const auto& ids = vocab_->by_first[static_cast<size_t>(b)];
    if (ids.empty()) continue;
    const char byte = static_cast<char>(b);
    if (!state_.accepts(std::string_view(&byte, 1))) continue;
    for (int32_t id : ids) {
      if (static_cast<size_t>(id) >= logits.size()) continue;
      if (state_.accepts(piece(id))) {
        masked[static_cast<size_t>(id)] = logits[static_cast<size_t>(id)];
        any = true;
      }
    }
  }
  if (any) {
    const int32_t id = sampler.sample(masked);
    if (id >= 0 && !piece(id).empty()) {
      JsonSchemaState trial = state_;
      if (trial.feed(piece(id)) && room(trial, budget)) return id;
    }
  }
  // Close the value now: write its shortest completion.
  auto rest = vocab_->tokens(state_.completion());
  if (!rest || rest->empty()) return -1;
  queue_ = std::move(*rest);
  queued_ = 0;
  forced_ = true;
  return queue_[0];
}

void JsonConstraint::accept(int32_t id) {
  state_.feed(vocab_->pieces[static_cast<size_t>(id)]);
  if (queued_ < queue_.size()) ++queued_;
}

}  // namespace hearth::generate
