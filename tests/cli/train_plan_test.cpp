// `hearth train --dry-run`: the memory plan (every part and the peak) and the time an epoch will
// take, without training; a run that will not fit in memory is refused with the numbers.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::run_hearth;

TEST(TrainPlan, ADryRunPrintsThePlanAndTheTimeAndTrainsNothing) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const auto r = run_hearth({"train", (dir / "models" / "qwen2-f32.gguf").string(), "--data",
                             (dir / "train" / "qwen2-f32.train.jsonl").string(), "--out",
                             (tmp.path() / "a.gguf").string(), "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"weights", "adapter", "gradients", "optimizer", "activations", "logits",
                           "working", "peak", "available", "per epoch", "tokens/s"})
    EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
  EXPECT_FALSE(fs::exists(tmp.path() / "a.gguf"));
  EXPECT_FALSE(fs::exists(tmp.path() / "a.gguf.checkpoints"));
}

TEST(TrainPlan, ARunThatWillNotFitIsRefusedWithTheNumbers) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  for (const bool dry : {true, false}) {
    std::vector<std::string> args = {"train", (dir / "models" / "qwen2-f32.gguf").string(), "--data",
                                     (dir / "train" / "qwen2-f32.train.jsonl").string(), "--out",
                                     (tmp.path() / "a.gguf").string(), "--max-seq", "100000000"};
    if (dry) args.push_back("--dry-run");
    const auto r = run_hearth(args);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_TRUE(contains(r.err, "MiB at its peak but")) << r.err;
    EXPECT_TRUE(contains(r.err, "lower --max-seq")) << r.err;
    EXPECT_FALSE(fs::exists(tmp.path() / "a.gguf"));
  }
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST(TrainTargets, AMixtureOfExpertsTrainsItsAttentionAndSaysTheFfnIsSkipped) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const fs::path out = tmp.path() / "a.gguf";
  const auto r = run_hearth({"train", (dir / "models" / "mixtral-f32.gguf").string(), "--data",
                             (dir / "train" / "llama-gqa-f32.train.jsonl").string(), "--out",
                             out.string(), "--steps", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "expert FFNs stay frozen")) << r.err;
  // q, k, v and o of both layers; nothing of the FFN.
  EXPECT_TRUE(contains(r.err, "training 8 adapted weights")) << r.err;
  EXPECT_TRUE(fs::exists(out));
}

}  // namespace
}  // namespace hearth
