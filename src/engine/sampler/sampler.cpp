#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace hearth::sampler {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

[[noreturn]] void bad_setting(const std::string& name, float value, const char* allowed) {
  throw Error(ErrorKind::invalid_input,
              name + " = " + std::to_string(value) + " is out of range: it must be " + allowed);
}

// Strict total order for the sorted filters: higher logit first, ties to the lower id (so the
// order, and with it every run, never depends on the sort algorithm).
bool before(float la, int32_t ia, float lb, int32_t ib) {
  return la > lb || (la == lb && ia < ib);
}

}  // namespace

void validate(const SamplerSettings& s) {
  if (!std::isfinite(s.temperature) || s.temperature < 0) {
    bad_setting("temperature", s.temperature, "0 (greedy) or more");
  }
  if (s.top_k < 0) bad_setting("top_k", float(s.top_k), "0 (off) or more");
  if (!std::isfinite(s.top_p) || s.top_p <= 0 || s.top_p > 1) {
    bad_setting("top_p", s.top_p, "more than 0 and at most 1 (1 turns it off)");
  }
  if (!std::isfinite(s.min_p) || s.min_p < 0 || s.min_p > 1) {
    bad_setting("min_p", s.min_p, "between 0 (off) and 1");
  }
  if (!std::isfinite(s.repeat_penalty) || s.repeat_penalty <= 0) {
    bad_setting("repeat_penalty", s.repeat_penalty, "more than 0 (1 turns it off)");
  }
  if (s.repeat_last_n < -1) {
    bad_setting("repeat_last_n", float(s.repeat_last_n), "-1 (all), 0 (off) or more");
  }
  if (!std::isfinite(s.presence_penalty)) {
    bad_setting("presence_penalty", s.presence_penalty, "a finite number");
  }
  if (!std::isfinite(s.frequency_penalty)) {
    bad_setting("frequency_penalty", s.frequency_penalty, "a finite number");
  }
}

Sampler::Sampler(SamplerSettings settings, int n_vocab)
    : settings_(settings), n_vocab_(n_vocab), rng_(settings.seed) {
  validate(settings_);
  if (n_vocab < 1) {
    throw Error(ErrorKind::invalid_input,
                "a sampler needs at least one token in the vocabulary, got n_vocab = " +
                    std::to_string(n_vocab));
  }
}

uint64_t Sampler::random_seed() {
  std::random_device device;
  return (uint64_t(device()) << 32) ^ uint64_t(device());
}

void Sampler::reset() {
  history_.clear();
  counts_.clear();
  rng_.seed(settings_.seed);
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_) {
    throw Error(ErrorKind::invalid_input, "token id " + std::to_string(token) +
                                              " is outside the vocabulary of " +
                                              std::to_string(n_vocab_) + " tokens");
  }
  if (settings_.repeat_last_n == 0) return;
  history_.push_back(token);
  ++counts_[token];
  if (settings_.repeat_last_n > 0 && history_.size() > size_t(settings_.repeat_last_n)) {
    const int32_t oldest = history_.front();
    history_.pop_front();
    if (--counts_[oldest] == 0) counts_.erase(oldest);
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  HEARTH_ASSERT(logits.size() == size_t(n_vocab_), "logits must hold one value per token");
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    candidates_[i] = {std::isnan(l) ? kNegInf : l, int32_t(i)};
  }
  sorted_ = false;

  apply_penalties();
  if (is_greedy()) return argmax();
  if (settings_.top_k > 0 && size_t(settings_.top_k) < candidates_.size()) keep_top_k();
  if (settings_.top_p < 1.0f) keep_top_p();
  if (settings_.min_p > 0.0f) keep_min_p();
  return draw();
}

// candidates_ is still indexed by id here: penalties come first in the chain.
void Sampler::apply_penalties() {
  const bool repeat = settings_.repeat_penalty != 1.0f;
  for (const auto& [token, count] : counts_) {
    float& logit = candidates_[size_t(token)].logit;
    if (repeat)
      logit = logit <= 0 ? logit * settings_.repeat_penalty : logit / settings_.repeat_penalty;
    logit -= float(count) * settings_.frequency_penalty + settings_.presence_penalty;
  }
}

int32_t Sampler::argmax() const {
  size_t best = 0;
  for (size_t i = 1; i < candidates_.size(); ++i) {
    if (candidates_[i].logit > candidates_[best].logit) best = i;  // strict: ties keep lower id
  }
  return candidates_[best].id;
}

void Sampler::keep_top_k() {
  const auto k = size_t(settings_.top_k);
  std::partial_sort(
      candidates_.begin(), candidates_.begin() + std::ptrdiff_t(k), candidates_.end(),
      [](const Candidate& a, const Candidate& b) { return before(a.logit, a.id, b.logit, b.id); });
  candidates_.resize(k);
  sorted_ = true;
}

void Sampler::keep_top_p() {
  if (!sorted_) {
    std::sort(candidates_.begin(), candidates_.end(), [](const Candidate& a, const Candidate& b) {
      return before(a.logit, a.id, b.logit, b.id);
    });
    sorted_ = true;
  }
  const float max = candidates_.front().logit;
  if (max == kNegInf) return;  // nothing is more probable than anything else
  if (max == std::numeric_limits<float>::infinity()) {  // forced tokens hold all probability
    std::erase_if(candidates_, [&](const Candidate& c) { return c.logit != max; });
    return;
  }
  double total = 0;
  for (const auto& c : candidates_) total += std::exp(double(c.logit) - max);
  double cumulative = 0;
  size_t keep = candidates_.size();
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cumulative += std::exp(double(candidates_[i].logit) - max) / total;
    if (cumulative >= settings_.top_p) {
      keep = i + 1;
      break;
    }
  }
  candidates_.resize(keep);
}

// p_i >= min_p * p_max  <=>  logit_i >= logit_max + log(min_p); needs no sorting.
void Sampler::keep_min_p() {
  float max = kNegInf;
  for (const auto& c : candidates_) max = std::max(max, c.logit);
  if (max == kNegInf) return;
  const double threshold = double(max) + std::log(double(settings_.min_p));
  std::erase_if(candidates_, [&](const Candidate& c) { return double(c.logit) < threshold; });
}

int32_t Sampler::draw() {
  float max = kNegInf;
  for (const auto& c : candidates_) max = std::max(max, c.logit);
  if (max == kNegInf) return argmax();  // every logit is -inf (or NaN): no distribution to draw
  const double inv_t = 1.0 / double(settings_.temperature);
  // Infinite logits (a model's way of forcing a token) share the probability among themselves.
  const bool forced = max == std::numeric_limits<float>::infinity();
  auto weight = [&](float logit) {
    if (forced) return logit == max ? 1.0 : 0.0;
    return std::exp((double(logit) - max) * inv_t);
  };
  double total = 0;
  for (const auto& c : candidates_) total += weight(c.logit);
  const double target = uniform() * total;
  double cumulative = 0;
  for (const auto& c : candidates_) {
    cumulative += weight(c.logit);
    if (target < cumulative) return c.id;
  }
  // Rounding left target at the very top: the last token with any weight.
  for (auto it = candidates_.rbegin(); it != candidates_.rend(); ++it) {
    if (weight(it->logit) > 0) return it->id;
  }
  return candidates_.front().id;
}

double Sampler::uniform() {
  return double(rng_() >> 11) * 0x1.0p-53;
}

}  // namespace hearth::sampler
