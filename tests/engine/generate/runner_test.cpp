// The generation layer with a real (tiny, conformance) model: a generation through start()/step()
// against raw feeding with greedy picks, limits and stop strings, the prompt's length check,
// a conversation's cache reuse (keep_conversation), the memory rule, and LoRA adapters.
#include "engine/generate/runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "support/test_support.h"

namespace hearth::generate {
namespace {

std::unique_ptr<ModelRunner> load(const std::filesystem::path& dir, RunnerOptions o = {}) {
  o.threads = 1;
  if (o.n_ctx == 0) o.n_ctx = 128;
  return ModelRunner::load((dir / "models" / "llama-gqa-f32.gguf").string(), o);
}

Request greedy_raw(const std::string& prompt, int max_tokens) {
  Request r;
  r.prompt = prompt;
  r.apply_template = false;
  r.sampling.temperature = 0;
  r.sampling.greedy = true;
  r.sampling.repeat_penalty = 1.0f;
  r.max_tokens = max_tokens;
  return r;
}

struct Generated {
  std::string text;
  std::vector<Output> done;  // the final output
  int steps = 0;
};

// Steps until slot 0 is done.
Generated run_to_end(Runner& runner) {
  Generated r;
  for (bool done = false; !done && r.steps < 10000; ++r.steps) {
    std::vector<Output> out;
    runner.step(out);
    for (auto& o : out) {
      EXPECT_FALSE(o.failed) << o.error;
      r.text += o.text;
      if (o.done) {
        r.text += o.tail;
        r.done.push_back(o);
        done = true;
      }
    }
  }
  return r;
}

TEST(ModelRunner, AGenerationIsTheGreedyContinuationOfItsPrompt) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  const Request req = greedy_raw("the quick brown fox", 6);
  const int n_prompt = runner->start(0, req, 128);
  const Generated run = run_to_end(*runner);
  ASSERT_EQ(run.done.size(), 1u);
  EXPECT_EQ(run.done[0].finish_reason, "length");
  EXPECT_FALSE(run.done[0].context_full);
  EXPECT_EQ(run.done[0].prompt_tokens, n_prompt);

  // The same by hand: feed the rendered prompt, pick the largest logit each time.
  auto direct = load(dir);
  auto tokens = direct->tokenizer().encode(direct->render(req).text(), false, true);
  ASSERT_EQ(static_cast<int>(tokens.size()), n_prompt);
  auto logits = direct->feed(0, tokens, false);
  std::vector<int32_t> ids;
  for (int i = 0; i < run.done[0].completion_tokens; ++i) {
    ids.push_back(greedy_token(logits[0]));
    logits = direct->feed(0, std::span(&ids.back(), 1), false);
  }
  EXPECT_EQ(run.done[0].completion_tokens, 6);
  EXPECT_EQ(run.text, direct->tokenizer().decode(ids, false, false));
}

TEST(ModelRunner, StopStringsCutTheTextAndTheContextLimitEndsWithLength) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  runner->start(0, greedy_raw("hello world", 12), 128);
  const std::string full = run_to_end(*runner).text;
  ASSERT_GE(full.size(), 4u);
  Request cut = greedy_raw("hello world", 12);
  cut.stop = {full.substr(2, 2)};
  runner->start(0, cut, 128);
  const Generated stopped = run_to_end(*runner);
  EXPECT_EQ(stopped.done.at(0).finish_reason, "stop");
  EXPECT_EQ(stopped.text, full.substr(0, full.find(cut.stop[0])));

  const int n_prompt = runner->start(0, greedy_raw("hello world", -1), 0 + 128);
  runner->stop(0);
  runner->start(0, greedy_raw("hello world", -1), n_prompt + 3);
  const Generated limited = run_to_end(*runner);
  EXPECT_EQ(limited.done.at(0).finish_reason, "length");
  EXPECT_TRUE(limited.done.at(0).context_full);
  // Room for 3 decoded tokens after the prompt; the 4th is sampled from the last logits but
  // never decoded.
  EXPECT_EQ(limited.done.at(0).completion_tokens, 4);
}

TEST(ModelRunner, APromptLongerThanItsLimitIsRefusedAndTheSlotStaysFree) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto runner = load(dir);
  try {
    runner->start(0, greedy_raw("one two three four five six seven eight", 2), 3);
    ADD_FAILURE() << "a prompt longer than its context was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("the prompt is "), std::string::npos) << e.what();
  }
  std::vector<Output> out;
  runner->step(out);
  EXPECT_TRUE(out.empty()) << "nothing runs after a refused start";
}

TEST(ModelRunner, AConversationReusesItsCachedTokensAndAnswersAsAFreshRun) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  RunnerOptions keep;
  keep.keep_conversation = true;
  auto chat = load(dir, keep);
  Request turn = greedy_raw("", 5);
  turn.apply_template = true;
  turn.messages = {{"user", "hello there"}};
  chat->start(0, turn, 128);
  const std::string first = run_to_end(*chat).text;
  turn.messages.push_back({"assistant", first});
  turn.messages.push_back({"user", "and then?"});
  chat->start(0, turn, 128);
  const Generated second = run_to_end(*chat);

  auto fresh = load(dir);
  fresh->start(0, turn, 128);
  const Generated alone = run_to_end(*fresh);
  EXPECT_EQ(second.text, alone.text);
  // The cached first turn is not decoded again. With prompts fed 2 tokens per step, that shows
  // as fewer steps than a fresh runner needs for the same second turn (same answer, so the
  // difference is all prompt).
  RunnerOptions small_batches = keep;
  small_batches.max_batch = 2;
  auto counted = load(dir, small_batches);
  Request first_turn = turn;
  first_turn.messages.resize(1);
  counted->start(0, first_turn, 128);
  run_to_end(*counted);
  counted->start(0, turn, 128);
  const Generated reused = run_to_end(*counted);
  small_batches.keep_conversation = false;
  auto uncached = load(dir, small_batches);
  uncached->start(0, turn, 128);
  const Generated again = run_to_end(*uncached);
  EXPECT_EQ(reused.text, again.text);
  EXPECT_GE(again.steps - reused.steps, 4) << "the whole conversation was decoded again";
}

TEST(ModelRunner, MemoryIsTheFilePlusTheKvCache) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  RunnerOptions f16;
  f16.kv_type = model::KvType::f16;
  auto runner = ModelRunner::load_weights((dir / "models" / "llama-gqa-f32.gguf").string(), f16);
  const auto file = std::filesystem::file_size(dir / "models" / "llama-gqa-f32.gguf");
  const auto one = runner->memory_bytes(64, 1);
  EXPECT_GT(one, file);
  EXPECT_EQ(runner->memory_bytes(64, 4) - file, 4 * (one - file)) << "the cache grows with cells";
  runner->reserve(64, 4);
  EXPECT_EQ(runner->kv_cache_bytes(), runner->memory_bytes(64, 4) - file);
  EXPECT_EQ(runner->n_ctx(), 64);
}

// RunnerOptions::adapters: loaded with the model, applied to its logits (the conformance
// adapter's reference P1 logits), and counted in its memory.
TEST(ModelRunner, AppliesItsLoraAdapters) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::filesystem::path adapter = dir / "lora" / "llama-gqa-f32.lora-r8.gguf";
  RunnerOptions with;
  with.adapters.push_back({adapter.string(), 1.0f});
  auto plain = load(dir);
  auto adapted = load(dir, with);
  const std::vector<int32_t> p1 = {1, 612, 580, 956, 420, 716, 687, 696, 701, 622, 264, 704, 693, 912};
  const auto base_row = plain->feed(0, p1, false);
  const auto row = adapted->feed(0, p1, false);
  const std::string ref = test::read_file(dir / "lora" / "llama-gqa-f32.lora-r8.P1.f32");
  ASSERT_EQ(ref.size(), row[0].size() * sizeof(float));
  float to_ref = 0, to_base = 0;
  for (size_t i = 0; i < row[0].size(); ++i) {
    float r;
    std::memcpy(&r, ref.data() + i * sizeof(float), sizeof(float));
    to_ref = std::max(to_ref, std::fabs(row[0][i] - r));
    to_base = std::max(to_base, std::fabs(row[0][i] - base_row[0][i]));
  }
  EXPECT_LE(to_ref, 1e-3f);
  EXPECT_GT(to_base, 1e-2f);
  // The adapter's A and B (18 KiB of F32) on top of the file and the cache.
  EXPECT_EQ(adapted->memory_bytes(64, 1) - plain->memory_bytes(64, 1), 17920u * sizeof(float));

  RunnerOptions wrong;
  wrong.adapters.push_back({(dir / "lora" / "qwen2-f32.lora-qv.gguf").string(), 1.0f});
  test::expect_error([&] { load(dir, wrong); }, ErrorKind::invalid_input, {"architecture 'qwen2'"});
}

}  // namespace
}  // namespace hearth::generate
