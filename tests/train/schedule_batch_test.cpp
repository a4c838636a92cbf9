// Learning-rate schedules, batches (the loss is the mean over all the batch's targets) and
// gradient clipping.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/quantize/synth.h"
#include "support/test_support.h"
#include "train/train.h"

namespace hearth::train::test {
namespace {

TEST(Schedule, WarmupThenConstantCosineOrLinear) {
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::constant, 1.0f, 1, 10, 0), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::constant, 1.0f, 10, 10, 0), 1.0);
  // Warm-up over 3 steps: 1/4, 2/4, 3/4 of lr, then the schedule from its start.
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::cosine, 2.0f, 1, 13, 3), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::cosine, 2.0f, 3, 13, 3), 1.5);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::cosine, 2.0f, 4, 13, 3), 2.0);
  EXPECT_NEAR(learning_rate(Schedule::cosine, 2.0f, 13, 13, 3), 0.0f, 1e-6);
  EXPECT_NEAR(learning_rate(Schedule::cosine, 2.0f, 8, 13, 3) / 2.0f,
              0.5 * (1 + std::cos(M_PI * 4 / 9)), 1e-6);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::linear, 1.0f, 1, 5, 0), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::linear, 1.0f, 3, 5, 0), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(Schedule::linear, 1.0f, 5, 5, 0), 0.0);
  EXPECT_EQ(parse_schedule("linear"), Schedule::linear);
  hearth::test::expect_error([] { parse_schedule("step"); }, ErrorKind::invalid_input,
                             {"\"step\"", "constant, cosine or linear"});
}

struct Fixture {
  hearth::test::TempDir dir;
  std::shared_ptr<const model::Model> model;
  LoraAdapter adapter;
  Example one{{1, 300, 400, 500, 600, 700}, {0, 0, 1, 1, 1, 1}};  // 4 targets
  Example two{{1, 320, 410, 520}, {0, 0, 0, 1}};                  // 1 target

  Fixture() {
    quantize::SynthOptions o;
    o.shape = "tiny";
    o.preset = "F32";
    const auto path = dir.path() / "tiny.gguf";
    quantize::write_synth(quantize::plan_synth(o), path);
    model = model::Model::load(path);
    adapter = new_adapter(*model, std::vector<std::string>{"q", "down"}, 2, 4, 5);
    for (LoraWeight& p : adapter.weights)
      for (size_t i = 0; i < p.b.size(); ++i) p.b[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
  }
};

float max_change(const LoraAdapter& before, const LoraAdapter& after) {
  float m = 0;
  for (size_t i = 0; i < before.weights.size(); ++i) {
    for (size_t j = 0; j < before.weights[i].a.size(); ++j)
      m = std::max(m, std::abs(after.weights[i].a[j] - before.weights[i].a[j]));
    for (size_t j = 0; j < before.weights[i].b.size(); ++j)
      m = std::max(m, std::abs(after.weights[i].b[j] - before.weights[i].b[j]));
  }
  return m;
}

TEST(Batch, LossIsTheMeanOverAllTargetsAndTwinsMatchOneSequence) {
  Fixture f;
  const Network net(f.model, kernels::MatmulOptions{});
  const double l1 = net.run(f.adapter, 1, f.one.sequence(), nullptr).loss;
  const double l2 = net.run(f.adapter, 1, f.two.sequence(), nullptr).loss;

  Trainer batched(net, f.adapter, {});
  const Sequence both[] = {f.one.sequence(), f.two.sequence()};
  const SequenceLoss loss = batched.step(both, 1e-3f);
  EXPECT_EQ(loss.n_targets, 5);
  EXPECT_NEAR(loss.loss, (4 * l1 + 1 * l2) / 5, 1e-5);

  // The same sequence twice has the same mean, so the same gradient and update as once.
  Trainer single(net, f.adapter, {}), twice(net, f.adapter, {});
  const Sequence alone[] = {f.one.sequence()};
  single.step(alone, 1e-3f);
  const Sequence twin[] = {f.one.sequence(), f.one.sequence()};
  twice.step(twin, 1e-3f);
  EXPECT_LT(max_change(single.adapter(), twice.adapter()), 1e-6f);
  EXPECT_GT(max_change(f.adapter, single.adapter()), 5e-4f);  // it did move
}

TEST(Batch, ClippingBoundsTheGradientNorm) {
  Fixture f;
  const Network net(f.model, kernels::MatmulOptions{});
  // Adam's first step has size lr whatever the gradient's scale, unless the clipped gradient is
  // far below eps (1e-8): then the step all but vanishes.
  TrainSettings clipped;
  clipped.clip = 1e-12f;
  Trainer t(net, f.adapter, clipped), free(net, f.adapter, {});
  const Sequence alone[] = {f.one.sequence()};
  t.step(alone, 1e-2f);
  free.step(alone, 1e-2f);
  EXPECT_LT(max_change(f.adapter, t.adapter()), 1e-5f);
  EXPECT_GT(max_change(f.adapter, free.adapter()), 5e-3f);
}

}  // namespace
}  // namespace hearth::train::test
