// Request::logprobs with a real (tiny, conformance) model: each generated token's logprob and its
// alternatives are the log-softmax of the raw logits the model gives for the same tokens fed by
// hand, whatever the sampler did to them (penalties, temperature); and nothing is computed when
// not asked.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>

#include "engine/generate/logprobs.h"
#include "engine/generate/runner.h"
#include "support/test_support.h"

namespace hearth::generate {
namespace {

std::unique_ptr<ModelRunner> load(const std::filesystem::path& dir) {
  RunnerOptions o;
  o.threads = 1;
  o.n_ctx = 128;
  return ModelRunner::load((dir / "models" / "llama-gqa-f32.gguf").string(), o);
}

// log-softmax of one row, in double.
std::vector<double> log_softmax(std::span<const float> row) {
  double max = -std::numeric_limits<double>::infinity();
  for (float x : row) max = std::max(max, static_cast<double>(x));
  double sum = 0;
  for (float x : row) sum += std::exp(static_cast<double>(x) - max);
  std::vector<double> out;
  for (float x : row) out.push_back(static_cast<double>(x) - max - std::log(sum));
  return out;
}

struct Generated {
  std::vector<TokenLogprobs> tokens;
  int outputs_with_token = 0;
};

Generated generate(ModelRunner& runner, const Request& request) {
  runner.start(0, request, 128);
  Generated r;
  for (bool done = false; !done;) {
    std::vector<Output> out;
    runner.step(out);
    for (auto& o : out) {
      EXPECT_FALSE(o.failed) << o.error;
      EXPECT_LE(o.logprobs.size(), 1u);
      if (o.token) ++r.outputs_with_token;
      EXPECT_EQ(o.logprobs.size(), o.token && request.logprobs ? 1u : 0u);
      for (auto& t : o.logprobs) r.tokens.push_back(std::move(t));
      done = done || o.done;
    }
  }
  return r;
}

TEST(Logprobs, AreTheLogSoftmaxOfTheRawLogitsForTheSameTokens) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  Request req;
  req.prompt = "the quick brown fox";
  req.apply_template = false;
  // Sampled with strong penalties and a high temperature: the logprobs stay the model's own.
  req.sampling.temperature = 1.5f;
  req.sampling.repeat_penalty = 1.8f;
  req.sampling.presence_penalty = 1.0f;
  req.sampling.seed = 7;
  req.max_tokens = 8;
  req.logprobs = true;
  req.top_logprobs = 5;
  const Generated run = generate(*runner, req);
  ASSERT_EQ(run.tokens.size(), 8u);

  auto direct = load(dir);
  auto ids = direct->tokenizer().encode(direct->render(req).text(), false, true);
  auto logits = direct->feed(0, ids, false);
  for (size_t i = 0; i < run.tokens.size(); ++i) {
    const TokenLogprobs& t = run.tokens[i];
    const std::vector<double> want = log_softmax(logits[0]);
    EXPECT_NEAR(t.chosen.logprob, want[static_cast<size_t>(t.chosen.id)], 1e-4) << "token " << i;
    EXPECT_EQ(t.chosen.bytes, direct->tokenizer().token_to_piece(t.chosen.id, true));
    // The top 5, in order, as a full sort of the row says.
    std::vector<int32_t> order(want.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return want[static_cast<size_t>(a)] > want[static_cast<size_t>(b)]; });
    ASSERT_EQ(t.top.size(), 5u);
    for (size_t k = 0; k < 5; ++k) {
      EXPECT_EQ(t.top[k].id, order[k]) << "token " << i << " rank " << k;
      EXPECT_NEAR(t.top[k].logprob, want[static_cast<size_t>(order[k])], 1e-4);
    }
    logits = direct->feed(0, std::span(&t.chosen.id, 1), false);
  }
}

TEST(Logprobs, GreedyPicksTheTopAlternativeAndNothingIsAddedWhenNotAsked) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  Request req;
  req.prompt = "hello world";
  req.apply_template = false;
  req.sampling.temperature = 0;
  req.sampling.repeat_penalty = 1.0f;
  req.max_tokens = 6;
  const Generated plain = generate(*runner, req);
  EXPECT_TRUE(plain.tokens.empty());
  EXPECT_EQ(plain.outputs_with_token, 6);

  req.logprobs = true;  // top_logprobs 0: the chosen token only
  const Generated chosen_only = generate(*runner, req);
  ASSERT_EQ(chosen_only.tokens.size(), 6u);
  req.top_logprobs = kMaxTopLogprobs;
  const Generated with_top = generate(*runner, req);
  ASSERT_EQ(with_top.tokens.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_TRUE(chosen_only.tokens[i].top.empty());
    const TokenLogprobs& t = with_top.tokens[i];
    EXPECT_EQ(t.chosen.id, chosen_only.tokens[i].chosen.id);
    ASSERT_EQ(t.top.size(), static_cast<size_t>(kMaxTopLogprobs));
    EXPECT_EQ(t.top[0].id, t.chosen.id);
    EXPECT_FLOAT_EQ(t.top[0].logprob, t.chosen.logprob);
    EXPECT_LE(t.chosen.logprob, 0.0f);
    for (size_t k = 1; k < t.top.size(); ++k) EXPECT_GE(t.top[k - 1].logprob, t.top[k].logprob);
  }

  req.top_logprobs = kMaxTopLogprobs + 1;
  EXPECT_THROW(validate(req), Error);
}

TEST(Logprobs, EqualLogitsGoByIdAndNanCountsAsImpossible) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  const auto n = static_cast<size_t>(runner->tokenizer().n_vocab());
  std::vector<float> row(n, -std::numeric_limits<float>::infinity());
  row[9] = 2.0f;
  row[4] = 2.0f;
  row[7] = std::log(2.0f);
  row[1] = std::numeric_limits<float>::quiet_NaN();
  const TokenLogprobs t = token_logprobs(row, 7, 4, runner->tokenizer());
  ASSERT_EQ(t.top.size(), 4u);
  EXPECT_EQ(t.top[0].id, 4);
  EXPECT_EQ(t.top[1].id, 9);
  EXPECT_EQ(t.top[2].id, 7);
  EXPECT_EQ(t.top[3].id, 0);  // the first of the impossible ones
  const double norm = std::log(2 * std::exp(2.0) + 2.0);
  EXPECT_NEAR(t.top[0].logprob, 2.0 - norm, 1e-6);
  EXPECT_NEAR(t.chosen.logprob, std::log(2.0) - norm, 1e-6);
  EXPECT_TRUE(std::isinf(t.top[3].logprob));
}

}  // namespace
}  // namespace hearth::generate
