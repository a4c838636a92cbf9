// See logprobs.h.
#include "engine/generate/logprobs.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace hearth::generate {
namespace {

float clean(float x) { return std::isnan(x) ? -std::numeric_limits<float>::infinity() : x; }

// a before b: larger logit first, then smaller id.
bool before(float la, int32_t a, float lb, int32_t b) { return la > lb || (la == lb && a < b); }

}  // namespace

TokenLogprobs token_logprobs(std::span<const float> logits, int32_t chosen, int top,
                             const tokenizer::Tokenizer& tokenizer) {
  const int k = std::clamp(top, 0, kMaxTopLogprobs);
  float max = -std::numeric_limits<float>::infinity();
  for (float x : logits) max = std::max(max, clean(x));
  // The best k so far, kept sorted (k is at most 20: an insertion beats a heap here).
  struct Entry {
    float logit;
    int32_t id;
  };
  std::vector<Entry> best;
  best.reserve(static_cast<size_t>(k) + 1);
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float x = clean(logits[i]);
    sum += std::exp(static_cast<double>(x) - static_cast<double>(max));
    if (k == 0) continue;
    const auto id = static_cast<int32_t>(i);
    if (static_cast<int>(best.size()) == k && !before(x, id, best.back().logit, best.back().id))
      continue;
    auto at = std::find_if(best.begin(), best.end(),
                           [&](const Entry& e) { return before(x, id, e.logit, e.id); });
    best.insert(at, Entry{x, id});
    if (static_cast<int>(best.size()) > k) best.pop_back();
  }
  // Every logit -infinity (or none): nothing is more likely than anything else.
  const double norm = std::isfinite(max) ? static_cast<double>(max) + std::log(sum) : 0.0;
  auto logprob = [&](float x) { return static_cast<float>(static_cast<double>(x) - norm); };
  auto entry = [&](int32_t id, float x) {
    return TokenLogprob{id, tokenizer.token_to_piece(id, /*render_special=*/true), logprob(x)};
  };
  TokenLogprobs r;
  r.chosen = entry(chosen, clean(logits[static_cast<size_t>(chosen)]));
  r.top.reserve(best.size());
  for (const Entry& e : best) r.top.push_back(entry(e.id, e.logit));
  return r;
}

}  // namespace hearth::generate
