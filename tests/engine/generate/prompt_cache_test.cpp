// The prompt cache (RunnerOptions::prompt_cache) with a real quantized model and the server's
// numerics (batch-invariant decoding, F16 KV cache, prompts cut into small chunks): a warm run
// gives the cold run's logprobs bit for bit, the slot with the longest reusable prefix is chosen
// (then the least recently used), another owner's cells are never reused, and an embedding may
// take a slot that holds a cached prompt.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/generate/runner.h"
#include "support/test_support.h"

namespace hearth::generate {
namespace {

// Q4_0 weights: the one-token and many-token kernels differ in the last bits there, so a cell
// computed the wrong way shows in the logprobs.
std::unique_ptr<ModelRunner> load(const std::filesystem::path& dir, int n_seq, int max_batch) {
  RunnerOptions o;
  o.threads = 1;
  o.n_ctx = 128;
  o.n_seq = n_seq;
  o.kv_type = model::KvType::f16;
  o.batch_invariant = true;
  o.prompt_cache = true;
  o.max_batch = max_batch;
  return ModelRunner::load((dir / "models" / "quant-base-q4_0.gguf").string(), o);
}

Request request(const std::string& prompt, const std::string& owner, int max_tokens = 6) {
  Request r;
  r.prompt = prompt;
  r.apply_template = false;
  r.sampling.temperature = 0;
  r.sampling.greedy = true;
  r.sampling.repeat_penalty = 1.0f;
  r.max_tokens = max_tokens;
  r.logprobs = true;
  r.cache_owner = owner;
  return r;
}

struct Answer {
  std::string text;
  std::vector<float> logprobs;  // each generated token's
  int steps = 0;
};

// Starts the request in `slot` and steps until it is done (nothing else runs).
Answer run(ModelRunner& runner, int slot, const Request& r) {
  runner.start(slot, r, 128);
  Answer out;
  for (bool done = false; !done && out.steps < 1000; ++out.steps) {
    std::vector<Output> step;
    runner.step(step);
    for (const Output& o : step) {
      EXPECT_FALSE(o.failed) << o.error;
      out.text += o.text;
      for (const TokenLogprobs& t : o.logprobs) out.logprobs.push_back(t.chosen.logprob);
      if (o.done) {
        out.text += o.tail;
        done = true;
      }
    }
  }
  return out;
}

TEST(PromptCache, AWarmRunGivesTheColdRunsBits) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // Chunks of 4 and 5: reused prefixes end at every offset inside a chunk, including the one
  // that would leave a lone token where the cold run decodes a whole chunk.
  for (const int chunk : {4, 5}) {
    SCOPED_TRACE("max_batch " + std::to_string(chunk));
    auto warm = load(dir, 1, chunk);
    auto cold = load(dir, 1, chunk);
    std::vector<std::string> prompts = {"the quick brown fox"};
    const Answer first = run(*warm, 0, request(prompts[0], "u"));
    prompts.push_back(prompts[0] + first.text + " and then the lazy dog");  // the next turn
    prompts.push_back(prompts[1]);                                         // the same again
    prompts.push_back(prompts[1] + " sleeps");                             // one word longer
    prompts.push_back(prompts[0] + " jumped");                             // a shorter branch
    for (size_t i = 1; i < prompts.size(); ++i) {
      SCOPED_TRACE("prompt " + std::to_string(i));
      const Answer w = run(*warm, 0, request(prompts[i], "u"));
      cold->clear(0);
      const Answer c = run(*cold, 0, request(prompts[i], "u"));
      EXPECT_EQ(w.text, c.text);
      EXPECT_EQ(w.logprobs, c.logprobs) << "a reused cell differs from the cold run's";
      EXPECT_LT(w.steps, c.steps) << "nothing was reused";
    }
  }
}

TEST(PromptCache, ChoosesTheLongestPrefixThenTheLeastRecentlyUsedSlot) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 3, 4);
  const std::vector<int> all = {0, 1, 2};
  const std::string a = "once upon a time there was a king", b = "in a galaxy far far away";
  // Nothing cached: the first slot; then an empty slot before any that holds a prompt.
  EXPECT_EQ(runner->choose_slot(request(a, "u"), all), 0);
  run(*runner, 0, request(a, "u", 2));
  EXPECT_EQ(runner->choose_slot(request("something else", "other"), all), 1);
  run(*runner, 1, request(b, "u", 2));
  // Each prompt's next turn goes where its beginning is cached, whatever the order of slots.
  EXPECT_EQ(runner->choose_slot(request(a + " who ruled", "u"), all), 0);
  EXPECT_EQ(runner->choose_slot(request(b + " a war began", "u"), all), 1);
  EXPECT_EQ(runner->choose_slot(request(b + " a war began", "u"), std::vector<int>{0, 2}), 2)
      << "the empty slot, not the one holding another prompt";
  // Another prompt (sharing at most the start of text with both, less than it would evict):
  // the least recently used of the two, whose prompt it evicts.
  EXPECT_EQ(runner->choose_slot(request("a third story", "u"), std::vector<int>{0, 1}), 0);
  run(*runner, 1, request(b + " again", "u", 2));  // slot 1 used last
  EXPECT_EQ(runner->choose_slot(request("a third story", "u"), std::vector<int>{0, 1}), 0);
  run(*runner, 0, request("a third story", "u", 2));
  EXPECT_EQ(runner->choose_slot(request("a third story", "u"), std::vector<int>{0, 1}), 0);
  EXPECT_EQ(runner->choose_slot(request("zebra crossing", "u"), std::vector<int>{0, 1}), 1);
  // `a` was evicted: a cold run again.
  auto cold = load(dir, 1, 4);
  EXPECT_EQ(run(*runner, 0, request(a, "u")).steps, run(*cold, 0, request(a, "u")).steps);
}

TEST(PromptCache, NeverReusesAnotherOwnersCells) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 2, 4);
  auto cold = load(dir, 1, 4);
  const std::string p = "the secret plan of the first user is long enough to matter";
  const Answer mine = run(*runner, 0, request(p, "alice"));
  // Another owner asking the same: not the slot holding alice's prompt, and started there
  // anyway, it decodes the whole prompt like a cold run.
  EXPECT_EQ(runner->choose_slot(request(p, "bob"), std::vector<int>{0, 1}), 1);
  const Answer theirs = run(*runner, 0, request(p, "bob"));
  const Answer fresh = run(*cold, 0, request(p, "bob"));
  EXPECT_EQ(theirs.steps, fresh.steps);
  EXPECT_EQ(theirs.logprobs, fresh.logprobs);
  EXPECT_EQ(theirs.text, mine.text);
  // Bob's turn replaced alice's cells: she starts over too, then reuses her own again.
  EXPECT_EQ(run(*runner, 0, request(p, "alice")).steps, fresh.steps);
  EXPECT_LT(run(*runner, 0, request(p, "alice")).steps, fresh.steps);
}

TEST(PromptCache, AnEmbeddingMayTakeASlotHoldingACachedPrompt) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir, 1, 4);
  run(*runner, 0, request("a prompt left in the cache", "u"));
  const auto e = runner->embed(0, {"hello world"}, 128, false, {});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->vectors.size(), 1u);
  auto cold = load(dir, 1, 4);
  // Nothing of the old prompt is left to reuse.
  EXPECT_EQ(run(*runner, 0, request("a prompt left in the cache", "u")).steps,
            run(*cold, 0, request("a prompt left in the cache", "u")).steps);
}

}  // namespace
}  // namespace hearth::generate
