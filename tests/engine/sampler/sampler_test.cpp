// The sampler chain on hand-made logits: greedy, each filter alone, penalties, seeds, the shape of
// the distribution, and settings it must refuse.
#include "engine/sampler/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "core/error.h"

namespace hearth::sampler {
namespace {

// Every filter and penalty off, temperature 1: a plain draw from softmax(logits).
SamplerSettings plain(uint64_t seed = 1) {
  SamplerSettings s;
  s.temperature = 1.0f;
  s.top_k = 0;
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  s.repeat_penalty = 1.0f;
  s.seed = seed;
  return s;
}

SamplerSettings greedy() {
  SamplerSettings s = plain();
  s.temperature = 0.0f;
  return s;
}

// The ids drawn in `n` calls.
std::set<int32_t> drawn(Sampler& sampler, const std::vector<float>& logits, int n = 2000) {
  std::set<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.insert(sampler.sample(logits));
  return ids;
}

TEST(SamplerGreedy, PicksTheHighestLogit) {
  Sampler s(greedy(), 5);
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 2.0f, -1.0f, 1.9f, 0.0f}), 1);
}

TEST(SamplerGreedy, TiesGoToTheLowestId) {
  Sampler s(greedy(), 5);
  EXPECT_EQ(s.sample(std::vector<float>{0.0f, 3.0f, 1.0f, 3.0f, 3.0f}), 1);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(s.sample(std::vector<float>(5, -inf)), 0);
}

TEST(SamplerGreedy, TheGreedyFlagOverridesTemperature) {
  SamplerSettings settings = plain();
  settings.greedy = true;
  Sampler s(settings, 4);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(std::vector<float>{1.0f, 1.2f, 1.1f, 0.0f}), 1);
}

TEST(SamplerGreedy, NanLogitsNeverWin) {
  Sampler s(greedy(), 3);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(s.sample(std::vector<float>{nan, -5.0f, nan}), 1);
}

TEST(SamplerFilters, TopKKeepsOnlyTheKHighest) {
  SamplerSettings settings = plain();
  settings.top_k = 2;
  Sampler s(settings, 5);
  EXPECT_EQ(drawn(s, {1.0f, 0.9f, 1.1f, 0.0f, 1.05f}), (std::set<int32_t>{2, 4}));
}

TEST(SamplerFilters, TopKBreaksTiesByLowerId) {
  SamplerSettings settings = plain();
  settings.top_k = 2;
  Sampler s(settings, 4);
  EXPECT_EQ(drawn(s, {1.0f, 1.0f, 1.0f, 1.0f}), (std::set<int32_t>{0, 1}));
}

TEST(SamplerFilters, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs).
  const std::vector<float> logits = {std::log(0.125f), std::log(0.5f), std::log(0.25f),
                                     std::log(0.125f)};
  SamplerSettings settings = plain();
  settings.top_p = 0.7f;  // 0.5 < 0.7 <= 0.75: the top two
  Sampler s(settings, 4);
  EXPECT_EQ(drawn(s, logits), (std::set<int32_t>{1, 2}));

  settings.top_p = 0.5f;  // the top token alone reaches it
  Sampler alone(settings, 4);
  EXPECT_EQ(drawn(alone, logits), (std::set<int32_t>{1}));

  settings.top_p = 1.0f;  // off
  Sampler all(settings, 4);
  EXPECT_EQ(drawn(all, logits), (std::set<int32_t>{0, 1, 2, 3}));
}

TEST(SamplerFilters, TopPUsesProbabilitiesBeforeTemperature) {
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  SamplerSettings settings = plain();
  settings.top_p = 0.85f;
  settings.temperature = 5.0f;  // would flatten the distribution if applied first
  Sampler s(settings, 3);
  EXPECT_EQ(drawn(s, logits), (std::set<int32_t>{0, 1}));
}

TEST(SamplerFilters, MinPDropsTokensFarLessLikelyThanTheTop) {
  // Relative to the top token: 1, 0.5, 0.2, 0.05.
  const std::vector<float> logits = {std::log(0.05f), std::log(1.0f), std::log(0.5f),
                                     std::log(0.2f)};
  SamplerSettings settings = plain();
  settings.min_p = 0.3f;
  Sampler s(settings, 4);
  EXPECT_EQ(drawn(s, logits), (std::set<int32_t>{1, 2}));
  settings.min_p = 0.1f;
  Sampler wider(settings, 4);
  EXPECT_EQ(drawn(wider, logits), (std::set<int32_t>{1, 2, 3}));
}

TEST(SamplerFilters, LowTemperatureSharpensHighFlattens) {
  const std::vector<float> logits = {0.0f, 1.0f};
  auto share_of_top = [&](float temperature) {
    SamplerSettings settings = plain(7);
    settings.temperature = temperature;
    Sampler s(settings, 2);
    int top = 0;
    for (int i = 0; i < 4000; ++i) top += s.sample(logits) == 1;
    return top / 4000.0;
  };
  const double expected_cold = 1.0 / (1.0 + std::exp(-1.0 / 0.25));
  const double expected_hot = 1.0 / (1.0 + std::exp(-1.0 / 4.0));
  EXPECT_NEAR(share_of_top(0.25f), expected_cold, 0.02);
  EXPECT_NEAR(share_of_top(4.0f), expected_hot, 0.03);
}

TEST(SamplerFilters, InfiniteLogitsForceTheirTokens) {
  const float inf = std::numeric_limits<float>::infinity();
  Sampler s(plain(), 4);
  EXPECT_EQ(drawn(s, {0.0f, inf, 5.0f, inf}), (std::set<int32_t>{1, 3}));
  SamplerSettings settings = plain();
  settings.top_p = 0.5f;
  Sampler with_top_p(settings, 4);
  EXPECT_EQ(drawn(with_top_p, {0.0f, inf, 5.0f, inf}), (std::set<int32_t>{1, 3}));
}

TEST(SamplerDistribution, FrequenciesMatchSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
  std::vector<double> p(logits.size());
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) total += p[i] = std::exp(double(logits[i]));
  Sampler s(plain(12345), int(logits.size()));
  std::vector<int> counts(logits.size());
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[size_t(s.sample(logits))];
  for (size_t i = 0; i < logits.size(); ++i) {
    // One standard deviation is at most 0.0036 here; 0.015 is over four.
    EXPECT_NEAR(counts[i] / double(n), p[i] / total, 0.015) << "token " << i;
  }
}

TEST(SamplerSeed, SameSeedSameSequence) {
  const std::vector<float> logits = {0.3f, 0.1f, 0.2f, 0.25f, 0.0f, 0.15f, 0.05f, 0.3f};
  SamplerSettings settings;  // the defaults, filters and penalties included
  settings.seed = 42;
  Sampler a(settings, 8), b(settings, 8);
  std::vector<int32_t> run_a, run_b;
  for (int i = 0; i < 200; ++i) {
    run_a.push_back(a.sample(logits));
    a.accept(run_a.back());
    run_b.push_back(b.sample(logits));
    b.accept(run_b.back());
  }
  EXPECT_EQ(run_a, run_b);

  a.reset();
  std::vector<int32_t> again;
  for (int i = 0; i < 200; ++i) {
    again.push_back(a.sample(logits));
    a.accept(again.back());
  }
  EXPECT_EQ(again, run_a) << "reset() must restart the run";

  settings.seed = 43;
  Sampler c(settings, 8);
  std::vector<int32_t> run_c;
  for (int i = 0; i < 200; ++i) {
    run_c.push_back(c.sample(logits));
    c.accept(run_c.back());
  }
  EXPECT_NE(run_a, run_c);
}

// Pins the draws themselves, so a change of generator or of the bits-to-double step, which would
// break reproducibility across versions and platforms, fails here.
TEST(SamplerSeed, DrawsArePinned) {
  Sampler s(plain(2024), 10);
  const std::vector<float> flat(10, 0.0f);
  std::vector<int32_t> run;
  for (int i = 0; i < 12; ++i) run.push_back(s.sample(flat));
  // Uniform over 10 tokens: the id is floor(10 * u), u = (mt19937_64 output >> 11) / 2^53.
  std::mt19937_64 reference(2024);
  std::vector<int32_t> expected;
  for (int i = 0; i < 12; ++i) {
    expected.push_back(int32_t(double(reference() >> 11) * 0x1.0p-53 * 10));
  }
  EXPECT_EQ(run, expected);
  // The standard fixes the engine: its 10000th output from the default seed.
  std::mt19937_64 standard;
  standard.discard(9999);
  EXPECT_EQ(standard(), 9981545732273789042ull);
}

TEST(SamplerPenalties, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  SamplerSettings settings = greedy();
  settings.repeat_penalty = 2.0f;
  Sampler s(settings, 3);
  s.accept(0);
  // 3.0 -> 1.5 loses to 2.0.
  EXPECT_EQ(s.sample(std::vector<float>{3.0f, 2.0f, 0.0f}), 1);
  // -1.0 -> -2.0 loses to -1.5.
  EXPECT_EQ(s.sample(std::vector<float>{-1.0f, -1.5f, -3.0f}), 1);
  // The penalty divides rather than subtracts: 6.0 -> 3.0 still beats an untouched 2.9.
  EXPECT_EQ(s.sample(std::vector<float>{6.0f, 2.9f, 0.0f}), 0);
}

TEST(SamplerPenalties, PresenceOnceFrequencyPerOccurrence) {
  SamplerSettings settings = greedy();
  settings.presence_penalty = 0.5f;
  Sampler presence(settings, 2);
  presence.accept(0);
  presence.accept(0);
  presence.accept(0);
  EXPECT_EQ(presence.sample(std::vector<float>{1.4f, 1.0f}), 1);  // 1.4 - 0.5 = 0.9
  EXPECT_EQ(presence.sample(std::vector<float>{1.6f, 1.0f}), 0);  // 1.6 - 0.5 = 1.1

  settings.presence_penalty = 0.0f;
  settings.frequency_penalty = 0.2f;
  Sampler frequency(settings, 2);
  frequency.accept(0);
  frequency.accept(0);
  frequency.accept(0);
  EXPECT_EQ(frequency.sample(std::vector<float>{1.5f, 1.0f}), 1);  // 1.5 - 0.6 = 0.9
  EXPECT_EQ(frequency.sample(std::vector<float>{1.7f, 1.0f}), 0);  // 1.7 - 0.6 = 1.1
}

TEST(SamplerPenalties, OnlyTheLastNTokensCount) {
  SamplerSettings settings = greedy();
  settings.repeat_penalty = 4.0f;
  settings.repeat_last_n = 2;
  Sampler s(settings, 4);
  const std::vector<float> logits = {2.0f, 1.0f, 0.0f, 0.0f};
  s.accept(0);
  EXPECT_EQ(s.sample(logits), 1);  // 0 is penalized: 0.5 < 1.0
  s.accept(2);
  s.accept(3);  // 0 has left the window of two
  EXPECT_EQ(s.sample(logits), 0);

  settings.repeat_last_n = 0;  // off
  Sampler off(settings, 4);
  off.accept(0);
  EXPECT_EQ(off.sample(logits), 0);

  settings.repeat_last_n = -1;  // everything since reset
  Sampler all(settings, 4);
  all.accept(0);
  for (int i = 0; i < 500; ++i) all.accept(3);
  EXPECT_EQ(all.sample(logits), 1);
  all.reset();
  EXPECT_EQ(all.sample(logits), 0);
}

TEST(SamplerErrors, InvalidSettingsAreNamed) {
  auto message_for = [](SamplerSettings settings) -> std::string {
    try {
      Sampler s(settings, 10);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      return e.what();
    }
    return "no error";
  };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  SamplerSettings s;
  s.temperature = -0.1f;
  EXPECT_NE(message_for(s).find("temperature"), std::string::npos);
  s = {};
  s.temperature = nan;
  EXPECT_NE(message_for(s).find("temperature"), std::string::npos);
  s = {};
  s.top_p = 0.0f;
  EXPECT_NE(message_for(s).find("top_p"), std::string::npos);
  s = {};
  s.top_p = 1.5f;
  EXPECT_NE(message_for(s).find("top_p"), std::string::npos);
  s = {};
  s.top_p = nan;
  EXPECT_NE(message_for(s).find("top_p"), std::string::npos);
  s = {};
  s.top_k = -1;
  EXPECT_NE(message_for(s).find("top_k"), std::string::npos);
  s = {};
  s.min_p = 2.0f;
  EXPECT_NE(message_for(s).find("min_p"), std::string::npos);
  s = {};
  s.repeat_penalty = 0.0f;
  EXPECT_NE(message_for(s).find("repeat_penalty"), std::string::npos);
  s = {};
  s.repeat_last_n = -2;
  EXPECT_NE(message_for(s).find("repeat_last_n"), std::string::npos);
  s = {};
  s.presence_penalty = inf;
  EXPECT_NE(message_for(s).find("presence_penalty"), std::string::npos);
  s = {};
  s.frequency_penalty = nan;
  EXPECT_NE(message_for(s).find("frequency_penalty"), std::string::npos);
  s = {};
  EXPECT_EQ(message_for(s), "no error");
}

TEST(SamplerErrors, BadVocabularyAndTokenIds) {
  EXPECT_THROW(Sampler(SamplerSettings{}, 0), Error);
  Sampler s(SamplerSettings{}, 5);
  EXPECT_THROW(s.accept(5), Error);
  EXPECT_THROW(s.accept(-1), Error);
  EXPECT_NO_THROW(s.accept(4));
}

}  // namespace
}  // namespace hearth::sampler
