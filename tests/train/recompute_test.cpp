// Recomputed activations (network.h, plan.h): the same loss and the same gradients, bit for bit,
// as with every block's activations kept, on every architecture; and the planner chooses it when
// the kept activations would not fit.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "train/plan.h"
#include "train/train.h"
#include "train_test_util.h"

namespace hearth::train::test {
namespace {

TEST(Recompute, SameLossAndGradientsOnEveryArchitecture) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* file : {"llama-gqa-f32.gguf", "qwen2-f32.gguf", "phi3-f32.gguf",
                           "mixtral-f32.gguf", "quant-base-q4_k_m.gguf"}) {
    SCOPED_TRACE(file);
    auto model = model::Model::load(dir / "models" / file);
    const std::vector<std::string> targets = {"q", "k", "v", "o", "gate", "up", "down"};
    const LoraAdapter adapter = new_adapter(*model, targets, 4, 8, 3);
    // B starts at zero; give it values so that every factor has a gradient.
    LoraAdapter a = adapter;
    for (auto& p : a.weights)
      for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
    std::vector<int32_t> tokens;
    std::vector<uint8_t> mask;
    for (int t = 0; t < 24; ++t) {
      tokens.push_back(1 + (t * 37) % 900);
      mask.push_back(t >= 8);
    }
    Network kept(model, exact_options()), recomputed(model, exact_options());
    recomputed.set_recompute(true);
    LoraGradients g1 = LoraGradients::like(a), g2 = LoraGradients::like(a);
    const SequenceLoss l1 = kept.run(a, 1.0f, {tokens, mask}, &g1);
    const SequenceLoss l2 = recomputed.run(a, 1.0f, {tokens, mask}, &g2);
    EXPECT_EQ(l1.loss, l2.loss);
    EXPECT_GT(l1.n_targets, 0);
    ASSERT_FALSE(g1.a.empty());
    for (size_t i = 0; i < g1.a.size(); ++i) {
      EXPECT_EQ(g1.a[i], g2.a[i]) << a.weights[i].base;
      EXPECT_EQ(g1.b[i], g2.b[i]) << a.weights[i].base;
    }
  }
}

TEST(Recompute, ThePlannerRecomputesOnlyWhenKeepingWouldNotFit) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = model::Model::load(dir / "models" / "llama-gqa-f32.gguf");
  const std::vector<std::string> targets = {"q", "v"};
  const LoraAdapter adapter = new_adapter(*model, targets, 8, 16, 1);
  const MemoryPlan kept = plan_memory(*model, adapter, 4096, 1, 2, false);
  const MemoryPlan re = plan_memory(*model, adapter, 4096, 1, 2, true);
  EXPECT_LT(re.activations, kept.activations);  // (2 layers here: the saving grows with depth)
  EXPECT_EQ(re.weights, kept.weights);
  EXPECT_FALSE(choose_plan(*model, adapter, 4096, 1, 2, kept.peak(), false).recompute);
  EXPECT_TRUE(choose_plan(*model, adapter, 4096, 1, 2, kept.peak() - 1, false).recompute);
  EXPECT_TRUE(choose_plan(*model, adapter, 4096, 1, 2, 0, true).recompute);
  EXPECT_FALSE(choose_plan(*model, adapter, 4096, 1, 2, 0, false).recompute);
  EXPECT_NE(plan_text(re).find("recomputed"), std::string::npos);
}

}  // namespace
}  // namespace hearth::train::test
