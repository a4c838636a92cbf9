// The optimizer by hand, the training data's checks, fresh adapters and the adapter-to-model
// checks.
#include <gtest/gtest.h>

#include <cmath>

#include "core/thread_pool.h"
#include "engine/quantize/synth.h"
#include "support/test_support.h"
#include "train/train.h"

namespace hearth::train::test {
namespace {

namespace fs = std::filesystem;
using hearth::test::expect_error;

TEST(AdamW, TwoStepsByHand) {
  LoraAdapter adapter;
  LoraWeight p;
  p.base = "w";
  p.n_in = 2;
  p.n_out = 1;
  p.rank = 1;
  p.a = {1.0f, -2.0f};
  p.b = {0.5f};
  adapter.weights.push_back(p);
  AdamW opt(adapter, {.lr = 0.1f, .weight_decay = 0.01f});
  LoraGradients g = LoraGradients::like(adapter);
  g.a[0] = {0.2f, -0.4f};
  g.b[0] = {1e-3f};

  // Reference in double, step by step as the conformance README writes it.
  double pa[2] = {1.0, -2.0}, pb = 0.5, ma[2] = {0, 0}, va[2] = {0, 0}, mb = 0, vb = 0;
  auto update = [](double& p, double& m, double& v, double grad, int s) {
    m = 0.9 * m + 0.1 * grad;
    v = 0.999 * v + 0.001 * grad * grad;
    p -= 0.1 * ((m / (1 - std::pow(0.9, s))) / (std::sqrt(v / (1 - std::pow(0.999, s))) + 1e-8) +
                0.01 * p);
  };
  for (int s = 1; s <= 2; ++s) {
    opt.step(adapter, g, 0.1f);
    update(pa[0], ma[0], va[0], 0.2, s);
    update(pa[1], ma[1], va[1], -0.4, s);
    update(pb, mb, vb, 1e-3, s);
  }
  EXPECT_EQ(opt.steps_taken(), 2);
  EXPECT_NEAR(adapter.weights[0].a[0], pa[0], 1e-6);
  EXPECT_NEAR(adapter.weights[0].a[1], pa[1], 1e-6);
  EXPECT_NEAR(adapter.weights[0].b[0], pb, 1e-6);
}

TEST(TokenizedJsonl, ReadsExamplesAndNamesEveryBadLine) {
  const auto examples = parse_tokenized_jsonl(
      "{\"tokens\": [1, 5, 7], \"mask\": [0, 1, 1]}\n\n{\"tokens\":[2,3],\"mask\":[0,1]}\n", 10,
      "data.jsonl");
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].tokens, (std::vector<int32_t>{1, 5, 7}));
  EXPECT_EQ(examples[0].mask, (std::vector<uint8_t>{0, 1, 1}));

  expect_error(
      [] {
        parse_tokenized_jsonl(
            "{\"tokens\": [1, 2], \"mask\": [0, 1]}\n"
            "not json\n"
            "{\"tokens\": [1, 2], \"mask\": [0]}\n"
            "{\"tokens\": [1, 99], \"mask\": [0, 1]}\n"
            "{\"tokens\": [1, 2], \"mask\": [1, 0]}\n"
            "{\"tokens\": [1, 2], \"mask\": [0, 2]}\n",
            10, "data.jsonl");
      },
      ErrorKind::invalid_input,
      {"data.jsonl: 5 bad lines", "line 2: not valid JSON", "line 3: \"tokens\" has 2 entries",
       "line 4: token 99 is outside", "line 5: no target", "line 6: mask entries must be 0 or 1"});
  expect_error([] { parse_tokenized_jsonl("\n\n", 10, "empty.jsonl"); }, ErrorKind::invalid_input,
               {"empty.jsonl: no training examples"});
}

fs::path tiny_model(const fs::path& dir, const std::string& arch) {
  quantize::SynthOptions options;
  options.arch = arch;
  options.shape = "tiny";
  options.preset = "F32";
  const fs::path out = dir / (arch + ".gguf");
  quantize::write_synth(quantize::plan_synth(options), out);
  return out;
}

TEST(NewAdapter, TargetsSeedAndAStartEqualToTheBase) {
  hearth::test::TempDir dir;
  auto model = model::Model::load(tiny_model(dir.path(), "llama"));
  const std::vector<std::string> qv = {"q", "v"};
  const LoraAdapter a = new_adapter(*model, qv, 4, 8.0f, 1);
  ASSERT_EQ(a.weights.size(), 4u);
  EXPECT_EQ(a.weights[0].base, "blk.0.attn_q.weight");
  EXPECT_EQ(a.weights[1].base, "blk.0.attn_v.weight");
  EXPECT_EQ(a.weights[3].base, "blk.1.attn_v.weight");
  EXPECT_EQ(a.arch, "llama");
  EXPECT_EQ(a.weights[0].rank, 4);
  const float bound = 1.0f / std::sqrt(256.0f);
  for (float v : a.weights[0].a) EXPECT_LE(std::abs(v), bound);
  for (float v : a.weights[0].b) EXPECT_EQ(v, 0.0f);
  EXPECT_EQ(new_adapter(*model, qv, 4, 8.0f, 1).weights[2].a, a.weights[2].a);  // seeded
  EXPECT_NE(new_adapter(*model, qv, 4, 8.0f, 2).weights[2].a, a.weights[2].a);

  // B = 0: the adapted model computes what the base computes.
  const Network net(model, kernels::MatmulOptions{});
  Example ex{{1, 300, 400, 500, 600}, {0, 0, 1, 1, 1}};
  EXPECT_EQ(net.run(a, 1.0f, ex.sequence(), nullptr).loss,
            net.run(LoraAdapter{"", "llama", 8.0f, {}}, 1.0f, ex.sequence(), nullptr).loss);

  expect_error([&] { new_adapter(*model, std::vector<std::string>{"qq"}, 4, 8, 1); },
               ErrorKind::invalid_input,
               {"unknown LoRA target \"qq\"", "q, k, v, o, gate, up, down"});
}

TEST(NewAdapter, FusedAndMixtureOfExpertsLayouts) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const std::vector<std::string> all(std::begin(kDefaultTargets), std::end(kDefaultTargets));
  // phi3: q/k/v name attn_qkv, gate/up the fused ffn_up, each adapted once.
  auto phi3 = model::Model::load(dir / "models" / "phi3-f32.gguf");
  const LoraAdapter p = new_adapter(*phi3, all, 2, 4, 1);
  std::vector<std::string> names;
  for (const LoraWeight& pair : p.weights) names.push_back(pair.base);
  EXPECT_EQ(names, (std::vector<std::string>{"blk.0.attn_qkv.weight", "blk.0.attn_output.weight",
                                             "blk.0.ffn_up.weight", "blk.0.ffn_down.weight",
                                             "blk.1.attn_qkv.weight", "blk.1.attn_output.weight",
                                             "blk.1.ffn_up.weight", "blk.1.ffn_down.weight"}));
  EXPECT_EQ(p.weights[2].n_out, 2 * 256);
  // Mixtral: the experts stay frozen, so FFN targets add nothing.
  auto moe = model::Model::load(dir / "models" / "mixtral-f32.gguf");
  EXPECT_EQ(new_adapter(*moe, all, 2, 4, 1).weights.size(), 8u);
}

TEST(Network, RefusesAnAdapterThatDoesNotFitTheModel) {
  hearth::test::TempDir dir;
  auto model = model::Model::load(tiny_model(dir.path(), "llama"));
  const Network net(model, kernels::MatmulOptions{});
  LoraAdapter a = new_adapter(*model, std::vector<std::string>{"q"}, 2, 4, 1);
  a.weights[1].n_in = 128;
  expect_error([&] { net.check(a); }, ErrorKind::invalid_input,
               {"blk.1.attn_q.weight has shape [128, 256]", "[256, 256]"});
  a.weights[1].n_in = 256;
  a.weights[1].base = "blk.7.attn_q.weight";
  expect_error([&] { net.check(a); }, ErrorKind::invalid_input,
               {"blk.7.attn_q.weight is not an adaptable weight"});
  Example bad{{1, 5000}, {0, 1}};
  expect_error([&] { net.run(a, 1, bad.sequence(), nullptr); }, ErrorKind::invalid_input,
               {"token 5000 is outside"});
}

}  // namespace
}  // namespace hearth::train::test

namespace hearth::train::test {
namespace {

// Work split over threads (matrix products, attention heads, backward by tokens) gives the same
// loss and gradients, bit for bit, as one thread.
TEST(Network, ThreadsGiveTheSameLossAndGradients) {
  hearth::test::TempDir dir;
  auto model = model::Model::load(tiny_model(dir.path(), "qwen2"));
  const std::vector<std::string> all(std::begin(kDefaultTargets), std::end(kDefaultTargets));
  LoraAdapter a = new_adapter(*model, all, 3, 6, 9);
  for (LoraWeight& p : a.weights)
    for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = 0.02f * static_cast<float>(i % 5) - 0.04f;
  Example ex{{1, 300, 400, 500, 600, 700, 800, 900, 310, 320, 330},
             {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}};
  ThreadPool pool(3);
  kernels::MatmulOptions one_thread, three_threads;
  three_threads.pool = &pool;
  LoraGradients g1 = LoraGradients::like(a), g3 = LoraGradients::like(a);
  const double l1 = Network(model, one_thread).run(a, 1, ex.sequence(), &g1).loss;
  const double l3 = Network(model, three_threads).run(a, 1, ex.sequence(), &g3).loss;
  EXPECT_EQ(l1, l3);
  EXPECT_EQ(g1.a, g3.a);
  EXPECT_EQ(g1.b, g3.b);
}

}  // namespace
}  // namespace hearth::train::test
