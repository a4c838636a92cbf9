// Request::adapters: each request runs with its own LoRA adapters on one loaded base, batched
// with requests for other adapters or none, and answers as a runner with that adapter for
// everything would; the runner's cache of adapter files (by path, re-read when replaced, unused
// ones evicted); the errors; and a conversation's cache reused only under the same adapters.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "engine/generate/runner.h"
#include "engine/model/lora_files.h"
#include "support/test_support.h"

namespace hearth::generate {
namespace {

namespace fs = std::filesystem;

const char kModel[] = "llama-gqa-f32.gguf";
const std::vector<std::string> kTargets = {"attn_q.weight",      "attn_k.weight",   "attn_v.weight",
                                           "attn_output.weight", "ffn_gate.weight", "ffn_up.weight",
                                           "ffn_down.weight"};

class RequestAdapters : public testing::Test {
 protected:
  void SetUp() override {
    const auto dir = test::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    model_ = (*dir / "models" / kModel).string();
    x_ = write(tmp_.path() / "x.gguf", 1);
    y_ = write(tmp_.path() / "y.gguf", 2);
  }
  // A random rank-8 adapter of the model, written to `path` (with seed `seed`).
  std::string write(const fs::path& path, uint32_t seed) {
    model::test::write_adapter(path, model::test::random_adapter(model_, kTargets, 8, 16, seed));
    return path.string();
  }
  std::unique_ptr<ModelRunner> runner(int n_seq, std::vector<LoraFile> adapters = {},
                                      bool keep_conversation = false, int cache = 16) {
    RunnerOptions o;
    o.threads = 2;
    o.n_ctx = 128;
    o.n_seq = n_seq;
    o.batch_invariant = true;
    o.adapters = std::move(adapters);
    o.keep_conversation = keep_conversation;
    o.adapter_cache = cache;
    o.max_batch = 4;  // prompts in several chunks, so prompts and generation steps mix
    return ModelRunner::load(model_, o);
  }

  std::string model_;
  std::string x_, y_;
  test::TempDir tmp_;
};

Request greedy(const std::string& prompt, std::vector<LoraFile> adapters = {}) {
  Request r;
  r.prompt = prompt;
  r.apply_template = false;
  r.sampling.temperature = 0;
  r.sampling.greedy = true;
  r.sampling.repeat_penalty = 1.0f;
  r.max_tokens = 12;
  r.adapters = std::move(adapters);
  return r;
}

struct Finished {
  std::vector<std::string> text;  // by slot
  int steps = 0;
};

// Steps until the n_slots running slots are done.
Finished run_all(ModelRunner& runner, int n_slots) {
  Finished r;
  r.text.resize(static_cast<size_t>(n_slots));
  int done = 0;
  for (; done < n_slots && r.steps < 1000; ++r.steps) {
    std::vector<Output> out;
    runner.step(out);
    for (auto& o : out) {
      EXPECT_FALSE(o.failed) << o.error;
      r.text[static_cast<size_t>(o.slot)] += o.text + o.tail;
      done += o.done ? 1 : 0;
    }
  }
  EXPECT_EQ(done, n_slots);
  return r;
}

std::string alone(std::unique_ptr<ModelRunner> runner, const Request& request) {
  runner->start(0, request, 128);
  return run_all(*runner, 1).text[0];
}

TEST_F(RequestAdapters, EachRequestAnswersAsItsAdapterAlone) {
  auto shared = runner(3);
  const Request rx = greedy("one two three four", {{x_, 1.0f}});
  const Request ry = greedy("the cat sat on the mat", {{y_, 1.5f}});
  const Request rn = greedy("def main():");
  shared->start(0, rx, 128);
  shared->start(1, ry, 128);
  shared->start(2, rn, 128);
  const Finished together = run_all(*shared, 3);
  for (const std::string& text : together.text) EXPECT_FALSE(text.empty());

  // The same requests, each on a runner that applies its adapter to everything.
  EXPECT_EQ(together.text[0], alone(runner(1, {{x_, 1.0f}}), greedy(rx.prompt)));
  EXPECT_EQ(together.text[1], alone(runner(1, {{y_, 1.5f}}), greedy(ry.prompt)));
  EXPECT_EQ(together.text[2], alone(runner(1), rn));
  // The adapters matter: without them the first two answer otherwise.
  EXPECT_NE(together.text[0], alone(runner(1), greedy(rx.prompt)));
  EXPECT_NE(together.text[1], alone(runner(1), greedy(ry.prompt)));
  // Both files stay loaded for the next requests, once each.
  const auto x_bytes = model::LoraAdapter::load(x_, shared->model())->bytes();
  EXPECT_EQ(shared->request_adapter_bytes(), 2 * x_bytes);
}

// On top of RunnerOptions::adapters: a request's adapter adds to the runner's own.
TEST_F(RequestAdapters, AddToTheRunnersAdapters) {
  auto base_plus = runner(2, {{y_, 0.5f}});
  base_plus->start(0, greedy("one two three four", {{x_, 1.0f}}), 128);
  base_plus->start(1, greedy("one two three four"), 128);
  const Finished together = run_all(*base_plus, 2);
  EXPECT_EQ(together.text[0],
            alone(runner(1, {{y_, 0.5f}, {x_, 1.0f}}), greedy("one two three four")));
  EXPECT_EQ(together.text[1], alone(runner(1, {{y_, 0.5f}}), greedy("one two three four")));
}

TEST_F(RequestAdapters, AReplacedFileIsReadAgain) {
  auto r = runner(1);
  const std::string path = (tmp_.path() / "version.gguf").string();
  fs::copy_file(x_, path);
  const std::string with_x = alone(std::move(r), greedy("one two three four", {{path, 1.0f}}));
  r = runner(1);
  EXPECT_EQ(alone(std::move(r), greedy("one two three four", {{x_, 1.0f}})), with_x);

  r = runner(1);
  r->start(0, greedy("one two three four", {{path, 1.0f}}), 128);
  EXPECT_EQ(run_all(*r, 1).text[0], with_x);
  // A new training run writes the same path (another size would do; keep the size, move the time).
  fs::copy_file(y_, path, fs::copy_options::overwrite_existing);
  fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(2));
  r->start(0, greedy("one two three four", {{path, 1.0f}}), 128);
  const std::string after = run_all(*r, 1).text[0];
  EXPECT_EQ(after, alone(runner(1), greedy("one two three four", {{y_, 1.0f}})));
  EXPECT_NE(after, with_x);
}

TEST_F(RequestAdapters, UnusedAdaptersBeyondTheCountAreEvicted) {
  auto r = runner(2, {}, false, /*cache=*/1);
  const auto one = model::LoraAdapter::load(x_, r->model())->bytes();
  const std::string z = write(tmp_.path() / "z.gguf", 3);
  // Two running at once are both kept, though the cache keeps one.
  r->start(0, greedy("one two", {{x_, 1.0f}}), 128);
  r->start(1, greedy("three four", {{y_, 1.0f}}), 128);
  EXPECT_EQ(r->request_adapter_bytes(), 2 * one);
  run_all(*r, 2);
  // The next load evicts the least recently used unused ones down to the count.
  r->start(0, greedy("one two", {{z, 1.0f}}), 128);
  EXPECT_EQ(r->request_adapter_bytes(), one);
  run_all(*r, 1);
}

TEST_F(RequestAdapters, AnAdapterThatDoesNotFitIsRefusedAndTheSlotStaysFree) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto r = runner(1);
  const std::string qwen = (dir / "lora" / "qwen2-f32.lora-qv.gguf").string();
  test::expect_error(
      [&] {
        r->start(0, greedy("one two", {{qwen, 1.0f}}), 128);
      },
      ErrorKind::invalid_input, {"qwen2-f32.lora-qv.gguf", "architecture 'qwen2'"});
  std::vector<Output> out;
  r->step(out);
  EXPECT_TRUE(out.empty()) << "nothing runs after a refused start";
  EXPECT_THROW(r->start(0, greedy("one two", {{(tmp_.path() / "none.gguf").string(), 1.0f}}), 128),
               Error);
  r->step(out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(r->request_adapter_bytes(), 0u);
  // The slot works afterwards.
  r->start(0, greedy("one two"), 128);
  EXPECT_FALSE(run_all(*r, 1).text[0].empty());
}

// keep_conversation: the cached turn is reused under the same adapters only.
TEST_F(RequestAdapters, AConversationReusesItsCacheOnlyUnderTheSameAdapters) {
  const std::string first = "one two three four five six seven eight";
  const std::string second = first + " nine ten";
  // Same adapter both turns: the first turn's tokens are not decoded again (fewer steps with
  // prompts fed 4 tokens per step), and the answer is what a fresh runner gives.
  auto chat = runner(1, {}, true);
  chat->start(0, greedy(first, {{x_, 1.0f}}), 128);
  run_all(*chat, 1);
  chat->start(0, greedy(second, {{x_, 1.0f}}), 128);
  const Finished reused = run_all(*chat, 1);
  auto fresh = runner(1);
  fresh->start(0, greedy(second, {{x_, 1.0f}}), 128);
  const Finished anew = run_all(*fresh, 1);
  EXPECT_EQ(reused.text[0], anew.text[0]);
  EXPECT_GE(anew.steps - reused.steps, 2) << "the first turn was decoded again";

  // Another adapter (or none) for the next turn: the cache goes, the answer is a fresh one's.
  chat->start(0, greedy(second + " eleven", {{y_, 1.0f}}), 128);
  EXPECT_EQ(run_all(*chat, 1).text[0], alone(runner(1), greedy(second + " eleven", {{y_, 1.0f}})));
  chat->start(0, greedy(second + " twelve"), 128);
  EXPECT_EQ(run_all(*chat, 1).text[0], alone(runner(1), greedy(second + " twelve")));
}

}  // namespace
}  // namespace hearth::generate
