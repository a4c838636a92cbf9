// `hearth train` stopped and resumed: killed with kill -9 in the middle of a run, `--resume DIR`
// continues from the last checkpoint and, in exact mode, every later step's loss and the final
// adapter are the same as an uninterrupted run's; Ctrl-C (SIGINT) writes a checkpoint and says
// how to continue; with held-out data, early stopping keeps the best adapter.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/train_recipe.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::run_hearth;

// step -> loss, of every step line of a log (a resumed run appends; a step taken twice keeps its
// last loss).
std::map<int64_t, double> losses(const fs::path& log) {
  std::map<int64_t, double> out;
  std::istringstream in(test::read_file(log));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto v = test::json_from(line).as_object();
    out[v.at("step").to_number<int64_t>()] = v.at("loss").to_number<double>();
  }
  return out;
}


// Runs a bash script (written to a file, so that nothing in it is expanded on the way); its exit
// status.
int run_script(const fs::path& dir, const std::string& script) {
  const fs::path file = dir / "script.sh";
  std::ofstream(file) << script << "\n";
  return std::system(("bash '" + file.string() + "'").c_str());
}

std::string quoted(const std::vector<std::string>& args) {
  std::string s;
  for (const auto& a : args) s += " '" + a + "'";
  return s;
}

TEST(TrainResume, KilledAtAnyMomentItContinuesTheSameTrajectory) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  constexpr int kSteps = 600;
  const std::vector<std::pair<std::string, std::string>> exact{{"HEARTH_KERNELS", "reference"}};
  auto whole = test::train_recipe(dir, tmp.path() / "whole.gguf", kSteps);
  whole.insert(whole.end(), {"--log", (tmp.path() / "whole.log").string()});
  const auto w = run_hearth(whole, exact);
  ASSERT_EQ(w.exit_code, 0) << w.err;

  // The same run, killed with SIGKILL once it has logged some steps (checkpoints every 7).
  auto cut = test::train_recipe(dir, tmp.path() / "cut.gguf", kSteps);
  const fs::path log = tmp.path() / "cut.log", checkpoints = tmp.path() / "ck";
  cut.insert(cut.end(), {"--log", log.string(), "--checkpoint-dir", checkpoints.string(),
                         "--checkpoint-every", "7"});
  const std::string script =
      "HEARTH_KERNELS=reference '" + test::hearth_binary().string() + "'" + quoted(cut) +
      " 2>/dev/null & pid=$!; for i in $(seq 2000); do n=$(cat '" + log.string() +
      "' 2>/dev/null | wc -l); [ \"$n\" -ge 100 ] && break; sleep 0.005; done; kill -9 $pid; "
      "wait $pid; exit 0";
  ASSERT_EQ(run_script(tmp.path(), script), 0);
  ASSERT_FALSE(fs::exists(tmp.path() / "cut.gguf")) << "the run finished before it was killed";
  const auto before = losses(log);
  ASSERT_GE(before.size(), 100u);

  const auto r = run_hearth({"train", "--resume", checkpoints.string(), "--log", log.string(),
                             "--threads", "1"},
                            exact);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::contains(r.err, "resuming after step")) << r.err;
  const auto full = losses(tmp.path() / "whole.log");
  const auto resumed = losses(log);
  ASSERT_EQ(full.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(resumed.size(), static_cast<size_t>(kSteps));
  for (const auto& [step, loss] : full) EXPECT_EQ(resumed.at(step), loss) << "step " << step;
  EXPECT_EQ(test::read_file(tmp.path() / "cut.gguf"), test::read_file(tmp.path() / "whole.gguf"));
}

TEST(TrainResume, CtrlCWritesACheckpointAndSaysHowToContinue) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  auto args = test::train_recipe(dir, tmp.path() / "a.gguf", 100000);
  const fs::path log = tmp.path() / "a.log";
  args.insert(args.end(), {"--log", log.string()});
  const std::string script =
      "'" + test::hearth_binary().string() + "'" + quoted(args) + " 2>'" +
      (tmp.path() / "err").string() + "' & pid=$!; for i in $(seq 2000); do n=$(cat '" +
      log.string() + "' 2>/dev/null | wc -l); [ \"$n\" -ge 5 ] && break; sleep 0.005; done; "
      "kill -INT $pid; wait $pid; echo $? > '" + (tmp.path() / "rc").string() + "'";
  ASSERT_EQ(run_script(tmp.path(), script), 0);
  EXPECT_EQ(test::read_file(tmp.path() / "rc"), "130\n");
  const std::string err = test::read_file(tmp.path() / "err");
  EXPECT_TRUE(test::contains(err, "continue with: hearth train --resume")) << err;
  // The checkpoint is beside the output, at the last logged step.
  const auto steps = losses(log);
  ASSERT_FALSE(steps.empty());
  const int64_t last = steps.rbegin()->first;
  EXPECT_TRUE(fs::exists(tmp.path() / "a.gguf.checkpoints" / ("step-" + std::to_string(last)) /
                         "state.gguf"))
      << err;
  EXPECT_FALSE(fs::exists(tmp.path() / "a.gguf"));
}

TEST(TrainResume, EarlyStoppingKeepsTheBestAdapter) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  // A learning rate far too high: the validation loss soon stops improving.
  auto args = test::train_recipe(dir, tmp.path() / "a.gguf", 200);
  const fs::path data = dir / "train" / "llama-gqa-f32.train.jsonl";
  args.insert(args.end(), {"--eval-data", data.string(), "--eval-every", "2", "--patience", "2",
                           "--log", (tmp.path() / "a.log").string()});
  args[std::find(args.begin(), args.end(), "--lr") - args.begin() + 1] = "0.5";
  const auto r = run_hearth(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::contains(r.err, "stopped early at step")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "best validation loss")) << r.err;
  // Evaluation lines carry eval_loss; the best one is no worse than the last.
  std::istringstream in(test::read_file(tmp.path() / "a.log"));
  std::vector<double> evals;
  for (std::string line; std::getline(in, line);) {
    const auto v = test::json_from(line).as_object();
    if (v.contains("eval_loss")) evals.push_back(v.at("eval_loss").to_number<double>());
  }
  ASSERT_GE(evals.size(), 3u);
  EXPECT_LT(*std::min_element(evals.begin(), evals.end()), evals.back());
  EXPECT_LT(evals.size(), 100u) << "it never stopped early";
  EXPECT_TRUE(fs::exists(tmp.path() / "a.gguf"));
}

}  // namespace
}  // namespace hearth
