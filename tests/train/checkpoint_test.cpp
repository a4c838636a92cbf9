// Checkpoints (train/checkpoint.h): a run stopped at any checkpoint and resumed from it continues
// the same loss trajectory bit for bit in exact mode; a checkpoint cut short is passed over; only
// the newest complete one is kept.
#include "train/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/test_support.h"
#include "train/train.h"
#include "train_test_util.h"

namespace hearth::train::test {
namespace {

namespace fs = std::filesystem;

struct Case {
  std::shared_ptr<const model::Model> model;
  LoraAdapter start;
  std::vector<Example> examples;
};

Case conformance_case(const fs::path& dir) {
  Case c;
  c.model = model::Model::load(dir / "models" / "llama-gqa-f32.gguf");
  c.start = read_adapter(dir / "train" / "llama-gqa-f32.init-lora.gguf");
  c.examples = read_tokenized_jsonl(dir / "train" / "llama-gqa-f32.train.jsonl", c.model->n_vocab());
  return c;
}

TrainSettings settings() {
  TrainSettings s;
  s.adamw.lr = 1e-3f;
  s.adamw.weight_decay = 0.01f;
  return s;
}

TEST(Checkpoint, AResumedRunFollowsTheUninterruptedTrajectoryExactly) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const Case c = conformance_case(dir);
  const Network network(c.model, exact_options());
  constexpr int kSteps = 6, kStop = 3;
  auto example = [&](int s) { return c.examples[static_cast<size_t>(s) % c.examples.size()].sequence(); };

  Trainer whole(network, c.start, settings());
  std::vector<double> losses;
  for (int s = 0; s < kSteps; ++s) losses.push_back(whole.step(example(s)).loss);

  Trainer first(network, c.start, settings());
  for (int s = 0; s < kStop; ++s) EXPECT_EQ(first.step(example(s)).loss, losses[s]);
  RunState run;
  run.step = kStop;
  run.tokens = 123;
  run.elapsed_s = 4.5;
  run.best_eval_loss = 2.25;
  run.best_step = 2;
  run.evals_since_best = 1;
  run.settings = {{"lr", 1e-3}, {"data", "a.jsonl"}};
  write_checkpoint(tmp.path(), {first.adapter(), first.optimizer_state(), run, c.start});

  const auto back = read_latest_checkpoint(tmp.path());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->run.step, kStop);
  EXPECT_EQ(back->run.tokens, 123);
  EXPECT_EQ(back->run.elapsed_s, 4.5);
  EXPECT_EQ(back->run.best_eval_loss, 2.25);
  EXPECT_EQ(back->run.best_step, 2);
  EXPECT_EQ(back->run.evals_since_best, 1);
  EXPECT_EQ(back->run.settings.at("data").as_string(), "a.jsonl");
  ASSERT_TRUE(back->best.has_value());
  EXPECT_EQ(back->best->weights[0].a, c.start.weights[0].a);
  EXPECT_EQ(back->optimizer.step, kStop);

  Trainer resumed(network, c.start, settings());
  resumed.restore(back->adapter, back->optimizer);
  EXPECT_EQ(resumed.steps_taken(), kStop);
  for (int s = kStop; s < kSteps; ++s)
    EXPECT_EQ(resumed.step(example(s)).loss, losses[s]) << "step " << s + 1;
  for (size_t i = 0; i < whole.adapter().weights.size(); ++i) {
    EXPECT_EQ(resumed.adapter().weights[i].a, whole.adapter().weights[i].a) << i;
    EXPECT_EQ(resumed.adapter().weights[i].b, whole.adapter().weights[i].b) << i;
  }
}

TEST(Checkpoint, ACheckpointCutShortIsPassedOverAndOlderOnesGo) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const Case c = conformance_case(dir);
  const Network network(c.model, exact_options());
  Trainer t(network, c.start, settings());
  EXPECT_FALSE(read_latest_checkpoint(tmp.path()).has_value());
  RunState run;
  for (int s = 1; s <= 2; ++s) {
    t.step(c.examples[0].sequence());
    run.step = s;
    write_checkpoint(tmp.path(), {t.adapter(), t.optimizer_state(), run, std::nullopt});
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "step-1"));
  EXPECT_TRUE(fs::exists(tmp.path() / "step-2" / "state.gguf"));
  // kill -9 while step 3 was being written: its adapter is there, its state is not.
  fs::create_directories(tmp.path() / "step-3");
  fs::copy_file(tmp.path() / "step-2" / "adapter.gguf", tmp.path() / "step-3" / "adapter.gguf");
  auto back = read_latest_checkpoint(tmp.path());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->run.step, 2);
  EXPECT_FALSE(back->best.has_value());
  // A state file that is not one is an error naming it, not a silent fresh start.
  std::ofstream(tmp.path() / "step-3" / "state.gguf") << "not a gguf";
  hearth::test::expect_error([&] { read_latest_checkpoint(tmp.path()); }, ErrorKind::corrupt_file,
                             {"state.gguf"});
}

TEST(Checkpoint, AnOptimizerStateOfAnotherShapeIsRefused) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Case c = conformance_case(dir);
  const Network network(c.model, exact_options());
  Trainer t(network, c.start, settings());
  OptimizerState wrong = t.optimizer_state();
  wrong.m.a.pop_back();
  hearth::test::expect_error([&] { t.restore(c.start, wrong); }, ErrorKind::invalid_input,
                             {"does not fit"});
}

}  // namespace
}  // namespace hearth::train::test
