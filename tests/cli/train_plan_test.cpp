// `hearth train --dry-run`: the memory plan (every part and the peak) and the time an epoch will
// take, without training; a run that will not fit in memory is refused with the numbers.
#include <gtest/gtest.h>

#include <fstream>

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

TEST(TrainPlan, ActivationsAreRecomputedWhenTheyDoNotFitAndARunThatStillDoesNotIsRefused) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  // One 2000-token sequence: its activations are what the plan is mostly made of.
  const fs::path data = tmp.path() / "long.jsonl";
  {
    std::ofstream out(data);
    out << "{\"tokens\": [";
    for (int t = 0; t < 2000; ++t) out << (t ? "," : "") << 3 + (t * 7919) % 990;
    out << "], \"mask\": [";
    for (int t = 0; t < 2000; ++t) out << (t ? "," : "") << (t >= 1000 ? 1 : 0);
    out << "]}\n";
  }
  const std::vector<std::string> run = {"train", (dir / "models" / "qwen2-f32.gguf").string(),
                                        "--data", data.string(), "--max-seq", "4096",
                                        "--out", (tmp.path() / "a.gguf").string(), "--steps", "1"};
  auto with_memory = [&](const std::string& mib, bool dry, bool recompute = false) {
    auto args = run;
    if (dry) args.push_back("--dry-run");
    if (recompute) args.push_back("--recompute");
    return run_hearth(args, {{"HEARTH_TRAIN_MEMORY", mib}});
  };
  // What the plan needs with every activation kept, and with them recomputed.
  auto peak_mib = [](const std::string& out) {
    const auto at = out.find("  peak");
    return at == std::string::npos ? -1.0 : std::stod(out.substr(out.find_first_of("0123456789", at)));
  };
  const auto kept = with_memory("100000", true);
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  EXPECT_FALSE(contains(kept.out, "recomputed")) << kept.out;
  const double kept_mib = peak_mib(kept.out);
  ASSERT_GT(kept_mib, 1.0) << kept.out;  // the tiny model's plan is a few MiB
  const auto re = with_memory("100000", true, true);
  ASSERT_EQ(re.exit_code, 0) << re.err;
  const double re_mib = peak_mib(re.out);
  ASSERT_LT(re_mib + 2, kept_mib) << kept.out << re.out;
  // Between the two: the run recomputes, says so, and trains.
  const std::string tight = std::to_string(static_cast<int>(re_mib) + 1);
  const auto squeezed = with_memory(tight, false);
  ASSERT_EQ(squeezed.exit_code, 0) << squeezed.err;
  EXPECT_TRUE(contains(squeezed.err, "recomputed block by block")) << squeezed.err;
  EXPECT_TRUE(fs::exists(tmp.path() / "a.gguf"));
  fs::remove(tmp.path() / "a.gguf");
  // Far too little even so: refused with the numbers, with or without --dry-run.
  for (const bool dry : {true, false}) {
    const auto r = with_memory("1", dry);
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_TRUE(contains(r.err, "MiB at its peak but 1 MiB is available")) << r.err;
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
