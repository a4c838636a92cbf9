// The scheduler with real (tiny, conformance) models: greedy output against a direct Context run,
// continuous batching (alone == batched), the prompt cache (warm == cold), cancellation, queue
// limits, errors, stop strings, limits, keep-alive, memory budget, reload for a larger context,
// embeddings, JSON mode.
#include "server/scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/config.h"
#include "engine/model/context.h"
#include "engine/generate/json_prefix.h"  // checks JSON-mode output
#include "server/scheduler_outcome.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

using namespace std::chrono_literals;

const char* kModel = "llama-gqa-f32.gguf";

std::string model_path(const char* file = kModel) {
  return (*test::conformance_dir() / "models" / file).string();
}

Scheduler::Options small_options(int num_parallel = 4) {
  Scheduler::Options o;
  o.num_parallel = num_parallel;
  o.max_queue = 64;
  o.threads = 1;
  o.default_num_ctx = 256;
  o.memory_budget = 1ull << 34;
  o.max_prompt_batch = 16;  // small, so prompts are cut into chunks that share steps
  return o;
}

sampler::SamplerSettings greedy() {
  sampler::SamplerSettings s;
  s.temperature = 0;
  s.greedy = true;
  s.repeat_penalty = 1.0f;
  return s;
}

GenerationRequest raw_request(const std::string& prompt, int max_tokens,
                              const char* file = kModel) {
  GenerationRequest r;
  r.model = file;
  r.model_path = model_path(file);
  r.prompt = prompt;
  r.apply_template = false;
  r.sampling = greedy();
  r.max_tokens = max_tokens;
  return r;
}

// The same generation run directly on a Context, one sequence, the scheduler's numerics (F16
// KV cache, batch-invariant decoding, the prompt cut in the same chunks): the text of up to n
// greedy tokens.
std::string direct_greedy(const std::string& prompt, int n, const char* file = kModel) {
  auto model = model::Model::load(model_path(file));
  ThreadPool pool(1);
  model::ContextOptions o;
  o.n_ctx = 256;
  o.kv_type = model::KvType::f16;
  o.matmul = kernels::default_matmul_options(&pool);
  o.batch_invariant = true;
  model::Context ctx(model, o);
  const auto& tok = model->tokenizer();
  auto tokens = tok.encode(chat::prompt_bos_text(tok) + prompt, false, true);
  model::Logits logits;
  const size_t chunk = static_cast<size_t>(small_options().max_prompt_batch);  // the same cuts
  for (size_t start = 0; start < tokens.size(); start += chunk) {
    std::vector<model::BatchEntry> batch;
    for (size_t i = start; i < std::min(tokens.size(), start + chunk); ++i)
      batch.push_back({tokens[i], static_cast<int>(i), 0, i + 1 == tokens.size()});
    logits = ctx.decode(batch);
  }
  sampler::Sampler sampler(greedy(), model->n_vocab());
  tokenizer::StreamDecoder text(tok);
  std::string out;
  int pos = static_cast<int>(tokens.size());
  for (int i = 0; i < n; ++i) {
    const int32_t id = sampler.sample(logits[0]);
    sampler.accept(id);
    if (tok.is_eog(id)) break;
    out += text.push(id);
    const model::BatchEntry e{id, pos++, 0, true};
    logits = ctx.decode(std::span(&e, 1));
  }
  return out + text.finish();
}

const std::vector<std::string> kPrompts = {
    "hello world",
    "the quick brown fox jumps over the lazy dog and keeps running",
    "def main():\n    return 1",
    "import numpy as np",
    "once upon a time there was a little model",
    "for i in range(10): print(i)",
};

TEST(Scheduler, SingleGreedyRequestMatchesADirectRun) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out;
  Scheduler sched(small_options());
  sched.submit(raw_request(kPrompts[1], 24), out.sink());
  ASSERT_TRUE(out.wait());
  ASSERT_FALSE(out.failed) << out.error;
  EXPECT_EQ(out.text, direct_greedy(kPrompts[1], 24));
  EXPECT_EQ(out.finish_reason, "length");
  EXPECT_EQ(out.timings.completion_tokens, 24);
  EXPECT_GT(out.timings.prompt_tokens, 5);
  EXPECT_GT(out.timings.load_ns, 0);
  EXPECT_GT(out.timings.prompt_ns, 0);
  EXPECT_GT(out.timings.eval_ns, 0);
  EXPECT_GE(out.timings.total_ns, out.timings.load_ns + out.timings.prompt_ns);
  const auto stats = sched.stats();
  EXPECT_EQ(stats.requests_total, 1u);
  EXPECT_EQ(stats.completion_tokens_total, 24u);
  EXPECT_EQ(stats.prompt_tokens_total, static_cast<std::uint64_t>(out.timings.prompt_tokens));
  EXPECT_GT(stats.tokens_per_second, 0);
  ASSERT_EQ(sched.loaded().size(), 1u);
  EXPECT_EQ(sched.loaded()[0].num_ctx, 256);
  EXPECT_EQ(sched.loaded()[0].num_parallel, 4);
  EXPECT_TRUE(sched.loaded()[0].expires_at.has_value());
}

TEST(Scheduler, ConcurrentGreedyRequestsEqualTheirSoloRuns) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // Q4_K: its GEMM and vec_dot paths differ by ~0.1 in the logits, so without batch-invariant
  // matmul the batched greedy text drifts from the solo one.
  for (const char* file : {kModel, "quant-base-q4_k_m.gguf"}) {
    std::vector<std::unique_ptr<Outcome>> outs;  // outlive the scheduler and its sinks
    Scheduler sched(small_options(4));
    for (const auto& p : kPrompts) {  // 6 requests, 4 slots: two wait, then join mid-flight
      outs.push_back(std::make_unique<Outcome>());
      sched.submit(raw_request(p, 200, file), outs.back()->sink());
    }
    for (size_t i = 0; i < kPrompts.size(); ++i) {
      ASSERT_TRUE(outs[i]->wait());
      ASSERT_FALSE(outs[i]->failed) << outs[i]->error;
      EXPECT_EQ(outs[i]->text, direct_greedy(kPrompts[i], 200, file)) << file << " prompt " << i;
      EXPECT_EQ(outs[i]->final_events, 1);
    }
  }
}

TEST(Scheduler, PromptCacheTurnsAnswerAsColdRunsAndStayWithTheirUser) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // Q4_K (see above): a reused cell computed by other kernels than the cold run's shows.
  const char* file = "quant-base-q4_k_m.gguf";
  std::vector<std::unique_ptr<Outcome>> outs;  // outlive the scheduler and its sinks
  Scheduler sched(small_options(2));
  auto ask = [&](const std::string& prompt, const std::string& user) {
    outs.push_back(std::make_unique<Outcome>());
    GenerationRequest r = raw_request(prompt, 12, file);
    r.cache_owner = user;
    sched.submit(std::move(r), outs.back()->sink());
    EXPECT_TRUE(outs.back()->wait());
    EXPECT_FALSE(outs.back()->failed) << outs.back()->error;
    return outs.back()->text;
  };
  const std::string first = ask(kPrompts[1], "alice");
  EXPECT_EQ(ask(kPrompts[1], "bob"), first);  // another user: no reuse, the same answer
  // Alice's next turns (the history resent, then again) reuse her cached prefix; each answer is
  // the cold run's. Bob's turn in between takes the other slot.
  const std::string turn2 = kPrompts[1] + first + " and then";
  EXPECT_EQ(ask(turn2, "alice"), direct_greedy(turn2, 12, file));
  EXPECT_EQ(ask(kPrompts[3], "bob"), direct_greedy(kPrompts[3], 12, file));
  EXPECT_EQ(ask(turn2, "alice"), direct_greedy(turn2, 12, file));
  const std::string turn3 = turn2 + " later";
  EXPECT_EQ(ask(turn3, "alice"), direct_greedy(turn3, 12, file));
}

TEST(Scheduler, CancellingARunningRequestLetsAQueuedOneRun) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome first, second;
  Scheduler sched(small_options(1));
  auto req = raw_request(kPrompts[0], -1);  // would run to the end of the context
  req.cancelled = std::make_shared<std::atomic<bool>>(false);
  auto flag = req.cancelled;
  sched.submit(std::move(req), first.sink());
  sched.submit(raw_request(kPrompts[2], 8), second.sink());
  ASSERT_TRUE(first.wait_for_tokens(2));
  EXPECT_FALSE(second.finished) << "one slot: the second request must wait";
  flag->store(true);
  ASSERT_TRUE(second.wait());
  EXPECT_FALSE(second.failed) << second.error;
  EXPECT_EQ(second.text, direct_greedy(kPrompts[2], 8));
  EXPECT_FALSE(first.finished) << "a cancelled request gets no more events";
}

TEST(Scheduler, FullQueueIsRefusedWithUnavailable) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto o = small_options(1);
  o.max_queue = 2;
  o.default_num_ctx = 4096;
  Outcome running, a, b, c;  // before the scheduler: its sinks may run until it goes
  Scheduler sched(o);
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto req = raw_request(kPrompts[0], -1);
  req.cancelled = cancel;
  sched.submit(req, running.sink());
  ASSERT_TRUE(running.wait_for_tokens(1));  // it holds the only slot now
  req.prompt = kPrompts[1];
  sched.submit(req, a.sink());
  sched.submit(req, b.sink());
  EXPECT_EQ(sched.stats().queue_depth, 2);
  try {
    sched.submit(req, c.sink());
    ADD_FAILURE() << "a third waiting request was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
  }
  EXPECT_EQ(sched.stats().requests_rejected, 1u);
  EXPECT_EQ(sched.stats().active_sequences, 1);
  cancel->store(true);
}

TEST(Scheduler, BadSettingsAreRefusedAtSubmit) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out;
  Scheduler sched(small_options());
  auto req = raw_request("x", 4);
  req.sampling.top_p = 0;
  EXPECT_THROW(sched.submit(req, out.sink()), Error);
  req = raw_request("x", 4);
  req.num_ctx = -1;
  EXPECT_THROW(sched.submit(req, out.sink()), Error);
}

TEST(Scheduler, PromptLongerThanTheContextIsAnErrorEvent) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out;
  Scheduler sched(small_options());
  auto req = raw_request(kPrompts[1], 4);
  req.num_ctx = 8;
  sched.submit(req, out.sink());
  ASSERT_TRUE(out.wait());
  ASSERT_TRUE(out.failed);
  EXPECT_EQ(out.error_kind, ErrorKind::invalid_input);
  EXPECT_NE(out.error.find("the prompt is "), std::string::npos) << out.error;
  EXPECT_NE(out.error.find("tokens but the model's context is 8 tokens"), std::string::npos)
      << out.error;
  EXPECT_EQ(out.token_events, 0);
}

TEST(Scheduler, ContextFullEndsWithLength) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out;
  Scheduler sched(small_options());
  auto req = raw_request(kPrompts[0], -1);
  req.num_ctx = 20;
  sched.submit(req, out.sink());
  ASSERT_TRUE(out.wait());
  ASSERT_FALSE(out.failed) << out.error;
  EXPECT_EQ(out.finish_reason, "length");
  EXPECT_EQ(out.timings.prompt_tokens + out.timings.completion_tokens, 21)
      << "every position up to num_ctx is used; the last token is sampled, not decoded";
}

TEST(Scheduler, StopStringCutsTheOutput) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::string full = direct_greedy(kPrompts[3], 30);
  ASSERT_GT(full.size(), 20u);
  const std::string stop = full.substr(12, 3);
  Outcome out;
  Scheduler sched(small_options());
  auto req = raw_request(kPrompts[3], 30);
  req.stop = {"never appears", stop};
  sched.submit(req, out.sink());
  ASSERT_TRUE(out.wait());
  EXPECT_EQ(out.finish_reason, "stop");
  EXPECT_EQ(out.text, full.substr(0, full.find(stop)));
}

TEST(Scheduler, KeepAliveZeroUnloadsWhenIdle) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out;
  Scheduler sched(small_options());
  auto req = raw_request(kPrompts[0], 4);
  req.keep_alive = 0ms;
  sched.submit(req, out.sink());
  ASSERT_TRUE(out.wait());
  for (int i = 0; i < 200 && !sched.loaded().empty(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(sched.loaded().empty());
}

TEST(Scheduler, PreloadAndUnload) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome out, missing;
  Scheduler sched(small_options());
  EXPECT_FALSE(sched.unload(model_path()));
  sched.preload(kModel, model_path(), std::nullopt, out.sink());
  ASSERT_TRUE(out.wait());
  ASSERT_FALSE(out.failed) << out.error;
  ASSERT_EQ(sched.loaded().size(), 1u);
  EXPECT_GT(sched.loaded()[0].size_bytes, 624096u);
  EXPECT_TRUE(sched.unload(model_path()));
  for (int i = 0; i < 200 && !sched.loaded().empty(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(sched.loaded().empty());
  sched.preload("nope", "/nonexistent/model.gguf", std::nullopt, missing.sink());
  ASSERT_TRUE(missing.wait());
  EXPECT_TRUE(missing.failed);
  EXPECT_EQ(missing.error_kind, ErrorKind::not_found) << missing.error;
}

TEST(Scheduler, MemoryBudgetUnloadsTheLeastRecentlyUsedIdleModel) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto o = small_options();
  o.memory_budget = 1;  // nothing fits: each load evicts every idle model, and warns
  Outcome a, b;
  Scheduler sched(o);
  sched.submit(raw_request(kPrompts[0], 4), a.sink());
  ASSERT_TRUE(a.wait());
  sched.submit(raw_request(kPrompts[0], 4, "qwen2-f32.gguf"), b.sink());
  ASSERT_TRUE(b.wait());
  EXPECT_FALSE(b.failed) << b.error;
  for (int i = 0; i < 200 && sched.loaded().size() > 1; ++i) std::this_thread::sleep_for(5ms);
  const auto loaded = sched.loaded();
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_EQ(loaded[0].model, "qwen2-f32.gguf");
}

TEST(Scheduler, LargerContextReloadsAndSmallerOnesFit) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome a, b, c;
  Scheduler sched(small_options());
  auto req = raw_request(kPrompts[0], 4);
  req.num_ctx = 64;
  sched.submit(req, a.sink());
  ASSERT_TRUE(a.wait());
  EXPECT_EQ(sched.loaded().at(0).num_ctx, 64);
  req.num_ctx = 512;
  sched.submit(req, b.sink());
  ASSERT_TRUE(b.wait());
  EXPECT_FALSE(b.failed) << b.error;
  EXPECT_EQ(sched.loaded().at(0).num_ctx, 512);
  req.num_ctx = 32;
  sched.submit(req, c.sink());
  ASSERT_TRUE(c.wait());
  EXPECT_EQ(sched.loaded().at(0).num_ctx, 512);
  EXPECT_EQ(a.text, c.text);
}

TEST(Scheduler, ShutdownFailsWhatIsRunningAndQueued) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome running, queued;
  {
    auto o = small_options(1);
    o.default_num_ctx = 4096;
    Scheduler sched(o);
    sched.submit(raw_request(kPrompts[0], -1), running.sink());
    sched.submit(raw_request(kPrompts[1], -1), queued.sink());
    ASSERT_TRUE(running.wait_for_tokens(1));
  }
  for (Outcome* o : {&running, &queued}) {
    EXPECT_TRUE(o->finished);
    EXPECT_TRUE(o->failed);
    EXPECT_EQ(o->error_kind, ErrorKind::unavailable);
    EXPECT_NE(o->error.find("shutting down"), std::string::npos);
    EXPECT_EQ(o->final_events, 1);
  }
}

std::vector<std::vector<float>> embed(Scheduler& sched, std::vector<std::string> inputs) {
  EmbeddingRequest req;
  req.model = kModel;
  req.model_path = model_path();
  req.inputs = std::move(inputs);
  std::mutex mu;
  std::condition_variable cv;
  std::optional<EmbeddingResult> got;
  sched.submit(req, [&](EmbeddingResult&& r) {
    std::lock_guard lock(mu);
    got = std::move(r);
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  EXPECT_TRUE(cv.wait_for(lock, 20s, [&] { return got.has_value(); }));
  EXPECT_TRUE(got && got->ok) << (got ? got->error : "");
  EXPECT_GT(got->prompt_tokens, 0);
  return got ? got->embeddings : std::vector<std::vector<float>>{};
}

TEST(Scheduler, ChatMessagesAreRenderedWithTheTemplate) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Outcome chat, raw;
  Scheduler sched(small_options());
  auto req = raw_request("", 6);
  req.system = "be brief";
  req.messages = {{"user", "hello"}};
  sched.submit(req, chat.sink());
  // The same prompt by hand: ChatML (the file has no template), BOS text first.
  auto by_hand = raw_request(
      "<s><|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n"
      "<|im_start|>assistant\n",
      6);
  by_hand.prompt = by_hand.prompt.substr(3);  // the BOS rule adds "<s>" to a raw prompt
  sched.submit(by_hand, raw.sink());
  ASSERT_TRUE(chat.wait());
  ASSERT_TRUE(raw.wait());
  ASSERT_FALSE(chat.failed) << chat.error;
  EXPECT_EQ(chat.timings.prompt_tokens, raw.timings.prompt_tokens);
  EXPECT_EQ(chat.text, raw.text);
}

TEST(Scheduler, EmbeddingInputLongerThanTheContext) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Scheduler sched(small_options());
  EmbeddingRequest req;
  req.model = kModel;
  req.model_path = model_path();
  req.inputs = {kPrompts[1]};
  req.num_ctx = 4;
  for (bool truncate : {true, false}) {
    req.truncate = truncate;
    std::promise<EmbeddingResult> got;
    sched.submit(req, [&](EmbeddingResult&& r) { got.set_value(std::move(r)); });
    const EmbeddingResult r = got.get_future().get();
    if (truncate) {
      EXPECT_TRUE(r.ok) << r.error;
      EXPECT_EQ(r.prompt_tokens, 4);
    } else {
      EXPECT_FALSE(r.ok);
      EXPECT_EQ(r.error_kind, ErrorKind::invalid_input);
      EXPECT_NE(r.error.find("the model's context is 4 tokens"), std::string::npos) << r.error;
    }
  }
}

TEST(Scheduler, EmbeddingsAreNormalisedDeterministicAndDistinct) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Scheduler sched(small_options());
  const auto first = embed(sched, {kPrompts[0], kPrompts[2]});
  ASSERT_EQ(first.size(), 2u);
  for (const auto& e : first) {
    double n2 = 0;
    for (float v : e) n2 += static_cast<double>(v) * v;
    EXPECT_NEAR(n2, 1.0, 1e-5);
  }
  EXPECT_NE(first[0], first[1]);
  const auto again = embed(sched, {kPrompts[0]});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0], first[0]);
}

TEST(Scheduler, JsonObjectOutputParses) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Scheduler sched(small_options());
  int complete = 0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Outcome out;
    auto req = raw_request(kPrompts[seed % kPrompts.size()], 200);
    req.json_object = true;
    req.sampling = sampler::SamplerSettings{};
    req.sampling.seed = seed;
    sched.submit(req, out.sink());
    ASSERT_TRUE(out.wait());
    ASSERT_FALSE(out.failed) << out.error;
    generate::JsonPrefix check;
    EXPECT_TRUE(check.feed(out.text)) << out.text;
    if (out.finish_reason == "stop") {
      ++complete;
      EXPECT_TRUE(check.complete()) << out.text;
      const auto parsed = hearth::test::json_from(out.text);
      EXPECT_TRUE(parsed.is_object()) << out.text;
    }
  }
  EXPECT_GT(complete, 0) << "no run closed its object within 200 tokens";
}

TEST(SchedulerOptions, ReadFromTheSettings) {
  auto set = [](std::string_view env, std::string value) { config::set_override(env, value); };
  set("HEARTH_NUM_PARALLEL", "3");
  set("HEARTH_MAX_QUEUE", "7");
  set("HEARTH_THREADS", "2");
  const std::vector<std::pair<std::string, long long>> durations = {
      {"5m", 300'000}, {"90", 90'000}, {"1h30m", 5'400'000}, {"250ms", 250}, {"0", 0}};
  for (const auto& [text, ms] : durations) {
    set("HEARTH_KEEP_ALIVE", text);
    const auto o = Scheduler::options_from_config();
    EXPECT_EQ(o.keep_alive.count(), ms) << text;
    EXPECT_EQ(o.num_parallel, 3);
    EXPECT_EQ(o.max_queue, 7);
    EXPECT_EQ(o.threads, 2);
  }
  set("HEARTH_KEEP_ALIVE", "-1");
  EXPECT_LT(Scheduler::options_from_config().keep_alive.count(), 0) << "negative: forever";
  set("HEARTH_KEEP_ALIVE", "5 minutes");
  EXPECT_THROW(Scheduler::options_from_config(), Error);
  for (const auto& s : config::settings())  // back to the defaults for the other tests
    for (const char* env :
         {"HEARTH_NUM_PARALLEL", "HEARTH_MAX_QUEUE", "HEARTH_THREADS", "HEARTH_KEEP_ALIVE"})
      if (s.env == env) set(env, std::string(s.default_value));
}

}  // namespace
}  // namespace hearth::server
