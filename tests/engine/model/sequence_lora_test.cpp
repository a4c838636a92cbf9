// Per-sequence LoRA adapters (Context::set_sequence_adapters): one batch mixing sequences with
// different adapters gives each sequence exactly the logits it gets decoded alone in a context
// that applies its adapters to everything, and the errors of a bad call.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/thread_pool.h"

#include "engine/model/context.h"
#include "lora_files.h"
#include "support/test_support.h"

namespace hearth::model::test {
namespace {

namespace fs = std::filesystem;
using hearth::test::expect_error;

const std::vector<std::string> kAttentionAndFfn = {
    "attn_q.weight",   "attn_k.weight", "attn_v.weight",  "attn_output.weight",
    "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};

// One sequence's prompt and the adapters it runs with.
struct Stream {
  std::vector<int32_t> prompt;
  std::vector<AppliedLora> adapters;
};

constexpr int kSteps = 6;  // greedy tokens decoded after each prompt

int32_t argmax(std::span<const float> row) {
  return static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// The engine's own kernels (SIMD where the CPU has them, quantized activations, two threads),
// whose one-token and many-token paths differ in the last bits.
ContextOptions options(int n_seq, std::vector<AppliedLora> adapters, bool batch_invariant) {
  static ThreadPool pool(2);
  ContextOptions o;
  o.matmul = kernels::default_matmul_options(&pool);
  o.n_ctx = 256;
  o.n_seq_max = n_seq;
  o.batch_invariant = batch_invariant;
  o.adapters = std::move(adapters);
  return o;
}

// Every stream in one context with its own sequence adapters: all prompts in one batch, then
// kSteps batches of every stream's greedy next token. Per stream: its logits rows, in order.
std::vector<std::vector<float>> together(const std::shared_ptr<const Model>& model,
                                         const std::vector<Stream>& streams,
                                         std::vector<AppliedLora> context_wide = {}) {
  const int n = static_cast<int>(streams.size());
  Context ctx(model, options(n, std::move(context_wide), true));
  for (int s = 0; s < n; ++s) ctx.set_sequence_adapters(s, streams[s].adapters);
  std::vector<BatchEntry> batch;
  for (int s = 0; s < n; ++s)
    for (size_t i = 0; i < streams[s].prompt.size(); ++i)
      batch.push_back(
          {streams[s].prompt[i], static_cast<int32_t>(i), s, i + 1 == streams[s].prompt.size()});
  std::vector<std::vector<float>> out(static_cast<size_t>(n));
  std::vector<int32_t> next(static_cast<size_t>(n)), pos(static_cast<size_t>(n));
  for (int step = 0; step <= kSteps; ++step) {
    const Logits l = ctx.decode(batch);
    batch.clear();
    for (int s = 0; s < n; ++s) {
      out[s].insert(out[s].end(), l[s].begin(), l[s].end());
      const int32_t p = step == 0 ? static_cast<int32_t>(streams[s].prompt.size()) : pos[s] + 1;
      pos[s] = p;
      batch.push_back({argmax(l[s]), p, s, true});
    }
  }
  return out;
}

// One stream alone, its adapters (after `context_wide`) applied context-wide.
std::vector<float> alone(const std::shared_ptr<const Model>& model, const Stream& stream,
                         std::vector<AppliedLora> context_wide = {}) {
  context_wide.insert(context_wide.end(), stream.adapters.begin(), stream.adapters.end());
  Context ctx(model, options(1, std::move(context_wide), true));
  std::vector<BatchEntry> batch;
  for (size_t i = 0; i < stream.prompt.size(); ++i)
    batch.push_back({stream.prompt[i], static_cast<int32_t>(i), 0, i + 1 == stream.prompt.size()});
  std::vector<float> out;
  auto pos = static_cast<int32_t>(stream.prompt.size());
  for (int step = 0; step <= kSteps; ++step) {
    const Logits l = ctx.decode(batch);
    out.insert(out.end(), l[0].begin(), l[0].end());
    batch = {{argmax(l[0]), pos++, 0, true}};
  }
  return out;
}

class SequenceLora : public testing::Test {
 protected:
  void SetUp() override {
    const auto dir = hearth::test::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    models_ = *dir / "models";
  }
  // A random adapter of `model_file` for these weights, loaded against `model`.
  std::shared_ptr<const LoraAdapter> adapter(const std::shared_ptr<const Model>& model,
                                             const std::string& model_file,
                                             const std::vector<std::string>& targets,
                                             uint32_t seed) {
    const fs::path path = tmp_.path() / ("adapter-" + std::to_string(seed) + ".gguf");
    write_adapter(path, random_adapter(models_ / model_file, targets, 8, 16, seed));
    return LoraAdapter::load(path, *model);
  }

  fs::path models_;
  hearth::test::TempDir tmp_;
};

// Three prompts of different lengths (BOS first) from the tiny-spm vocabulary.
const std::vector<int32_t> kPromptA = {1, 612, 580, 956, 420, 716, 687, 696};
const std::vector<int32_t> kPromptB = {1, 701, 622, 264, 704};
const std::vector<int32_t> kPromptC = {1, 693, 912, 300, 401, 502, 603, 704, 805, 306, 407};

TEST_F(SequenceLora, MixedBatchEqualsEachSequenceAlone) {
  for (const std::string file : {"llama-gqa-f32.gguf", "quant-base-q8_0.gguf", "llama3-f16.gguf"}) {
    const auto model = Model::load(models_ / file);
    const auto x = adapter(model, file, kAttentionAndFfn, 21);
    const auto y = adapter(model, file, kAttentionAndFfn, 22);
    const std::vector<Stream> streams = {
        {kPromptA, {{x, 1.0f}}}, {kPromptB, {{y, 0.5f}}}, {kPromptC, {}}};
    const auto mixed = together(model, streams);
    for (size_t s = 0; s < streams.size(); ++s)
      EXPECT_EQ(mixed[s], alone(model, streams[s])) << file << " sequence " << s;
    // The adapters change the logits: sequence 0 with X is not the base model.
    EXPECT_NE(mixed[0], alone(model, {kPromptA, {}})) << file;
    EXPECT_NE(mixed[1], alone(model, {kPromptB, {}})) << file;
  }
}

// The same prompt under X, Y and nothing: the rows of one step differ only by their adapters.
TEST_F(SequenceLora, SamePromptDifferentAdapters) {
  const auto model = Model::load(models_ / "llama-gqa-f32.gguf");
  const auto x = adapter(model, "llama-gqa-f32.gguf", kAttentionAndFfn, 31);
  const auto y = adapter(model, "llama-gqa-f32.gguf", {"attn_v.weight", "ffn_down.weight"}, 32);
  const std::vector<Stream> streams = {
      {kPromptA, {{x, 1.0f}}}, {kPromptA, {{y, 1.0f}}}, {kPromptA, {}}, {kPromptA, {{x, 1.0f}}}};
  const auto mixed = together(model, streams);
  EXPECT_EQ(mixed[0], alone(model, streams[0]));
  EXPECT_EQ(mixed[1], alone(model, streams[1]));
  EXPECT_EQ(mixed[2], alone(model, streams[2]));
  EXPECT_EQ(mixed[3], mixed[0]);  // two sequences sharing one adapter set
  EXPECT_NE(mixed[0], mixed[1]);
  EXPECT_NE(mixed[1], mixed[2]);
}

// Sequence adapters come after the context's own: the same as both context-wide, in that order.
TEST_F(SequenceLora, AddsToTheContextsAdapters) {
  const auto model = Model::load(models_ / "llama-gqa-f32.gguf");
  const auto base = adapter(model, "llama-gqa-f32.gguf", kAttentionAndFfn, 41);
  const auto x = adapter(model, "llama-gqa-f32.gguf", kAttentionAndFfn, 42);
  const std::vector<Stream> streams = {{kPromptA, {{x, 0.75f}}}, {kPromptB, {}}};
  const auto mixed = together(model, streams, {{base, 1.0f}});
  EXPECT_EQ(mixed[0], alone(model, streams[0], {{base, 1.0f}}));
  EXPECT_EQ(mixed[1], alone(model, streams[1], {{base, 1.0f}}));
}

// Mixture of experts: the router adapted per sequence goes through the expert routing's row
// subsets; the fused attn_qkv and gate-up ffn_up of phi3 likewise.
TEST_F(SequenceLora, MixtralAndPhi3) {
  const struct {
    std::string file;
    std::vector<std::string> targets;
  } cases[] = {{"mixtral-f32.gguf", {"attn_q.weight", "attn_v.weight", "ffn_gate_inp.weight"}},
               {"phi3-f32.gguf", {"attn_qkv.weight", "ffn_up.weight", "ffn_down.weight"}}};
  for (const auto& c : cases) {
    const auto model = Model::load(models_ / c.file);
    const auto x = adapter(model, c.file, c.targets, 51);
    const auto y = adapter(model, c.file, c.targets, 52);
    const std::vector<Stream> streams = {
        {kPromptC, {{x, 1.0f}}}, {kPromptB, {{y, 2.0f}}}, {kPromptA, {}}};
    const auto mixed = together(model, streams);
    for (size_t s = 0; s < streams.size(); ++s)
      EXPECT_EQ(mixed[s], alone(model, streams[s])) << c.file << " sequence " << s;
    EXPECT_NE(mixed[0], alone(model, {kPromptC, {}})) << c.file;
  }
}

TEST_F(SequenceLora, ClearingAndRemovingForgetTheAdapters) {
  const auto model = Model::load(models_ / "llama-gqa-f32.gguf");
  const auto x = adapter(model, "llama-gqa-f32.gguf", kAttentionAndFfn, 61);
  auto last_logits = [&](Context& ctx) {
    std::vector<BatchEntry> batch;
    for (size_t i = 0; i < kPromptA.size(); ++i)
      batch.push_back({kPromptA[i], static_cast<int32_t>(i), 1, i + 1 == kPromptA.size()});
    const Logits l = ctx.decode(batch);
    std::vector<float> row(l[0].begin(), l[0].end());
    ctx.remove_sequence(1);
    return row;
  };
  Context ctx(model, options(2, {}, true));
  const auto plain = last_logits(ctx);
  ctx.set_sequence_adapters(1, {{x, 1.0f}});
  EXPECT_EQ(ctx.sequence_adapters(1).size(), 1u);
  EXPECT_TRUE(ctx.sequence_adapters(0).empty());
  const auto adapted = last_logits(ctx);  // removes sequence 1, and with it its adapters
  EXPECT_NE(adapted, plain);
  EXPECT_TRUE(ctx.sequence_adapters(1).empty());
  EXPECT_EQ(last_logits(ctx), plain);
  ctx.set_sequence_adapters(1, {{x, 1.0f}});
  ctx.set_sequence_adapters(1, {});
  EXPECT_TRUE(ctx.sequence_adapters(1).empty());
  EXPECT_EQ(last_logits(ctx), plain);
}

TEST_F(SequenceLora, BadCallsAreRefusedAndChangeNothing) {
  const auto model = Model::load(models_ / "llama-gqa-f32.gguf");
  const auto x = adapter(model, "llama-gqa-f32.gguf", kAttentionAndFfn, 71);
  Context ctx(model, options(2, {}, true));
  expect_error(
      [&] {
        ctx.set_sequence_adapters(2, {{x, 1.0f}});
      },
      ErrorKind::invalid_input, {"sequence 2", "[0, 2)"});
  expect_error([&] { ctx.set_sequence_adapters(-1, {}); }, ErrorKind::invalid_input,
               {"sequence -1"});
  // An adapter of another model (qwen2) does not fit: check_adapter()'s error, the old stays.
  const auto qwen = Model::load(models_ / "qwen2-f32.gguf");
  const auto other = adapter(qwen, "qwen2-f32.gguf", {"attn_q.weight"}, 72);
  ctx.set_sequence_adapters(0, {{x, 1.0f}});
  expect_error(
      [&] {
        ctx.set_sequence_adapters(0, {{other, 1.0f}});
      },
      ErrorKind::invalid_input, {"architecture 'qwen2'", "'llama'"});
  ASSERT_EQ(ctx.sequence_adapters(0).size(), 1u);
  EXPECT_EQ(ctx.sequence_adapters(0)[0].adapter, x);
}

}  // namespace
}  // namespace hearth::model::test
