// Runs the real `hearth train`: the conformance recipe (issue 13, item 4) in exact mode follows
// every reference trajectory, logging one JSON line per step; a fresh adapter trains and is
// written in llama.cpp's layout; bad data lines are reported by number before anything trains.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/gguf/gguf.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::CommandResult;
using test::run_hearth;

std::vector<json::object> read_log(const fs::path& path) {
  std::vector<json::object> lines;
  std::istringstream in(test::read_file(path));
  for (std::string line; std::getline(in, line);)
    lines.push_back(test::json_from(line).as_object());
  return lines;
}

std::string number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

TEST(TrainCommand, ConformanceRecipeFollowsEveryReferenceTrajectory) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(dir / "train")) {
    if (!entry.path().string().ends_with(".train-ref.json")) continue;
    ++cases;
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    const json::object ref = test::json_from(test::read_file(entry.path())).as_object();
    test::TempDir tmp;
    const fs::path out = tmp.path() / "out.gguf", log = tmp.path() / "log.jsonl";
    const auto steps = ref.at("steps").to_number<int64_t>();
    const CommandResult r =
        run_hearth({"train",
                    (dir / "models" / std::string(ref.at("base").as_string())).string(),
                    "--data",
                    (dir / "train" / std::string(ref.at("data").as_string())).string(),
                    "--init-adapter",
                    (dir / "train" / std::string(ref.at("init_adapter").as_string())).string(),
                    "--steps",
                    std::to_string(steps),
                    "--lr",
                    number(ref.at("lr").to_number<double>()),
                    "--weight-decay",
                    number(ref.at("weight_decay").to_number<double>()),
                    "--lora-scale",
                    number(ref.at("scale").to_number<double>()),
                    "--batch",
                    "1",
                    "--no-shuffle",
                    "--schedule",
                    "constant",
                    "--warmup",
                    "0",
                    "--clip",
                    "0",
                    "--log",
                    log.string(),
                    "--out",
                    out.string()},
                   {{"HEARTH_KERNELS", "reference"}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::vector<json::object> lines = read_log(log);
    ASSERT_EQ(static_cast<int64_t>(lines.size()), steps);
    const json::array& losses = ref.at("losses").as_array();
    int64_t tokens = 0;
    for (int64_t s = 1; s <= steps; ++s) {
      const json::object& line = lines[static_cast<size_t>(s - 1)];
      EXPECT_EQ(line.at("step").to_number<int64_t>(), s);
      const double want = losses[static_cast<size_t>(s - 1)].to_number<double>();
      EXPECT_NEAR(line.at("loss").to_number<double>(), want, 5e-3 * std::max(1.0, std::abs(want)))
          << name << ": step " << s;
      EXPECT_NEAR(line.at("lr").to_number<double>(), ref.at("lr").to_number<double>(), 1e-9);
      EXPECT_GT(line.at("tokens").to_number<int64_t>(), tokens);
      tokens = line.at("tokens").to_number<int64_t>();
      EXPECT_GE(line.at("elapsed_s").to_number<double>(), 0.0);
    }
    const gguf::File adapter = gguf::File::open(out);
    EXPECT_EQ(adapter.get_string("general.type"), "adapter");
    EXPECT_EQ(adapter.tensors().size(), ref.at("final_adapter_l2").as_object().size());
    for (const auto& [tensor, l2] : ref.at("final_adapter_l2").as_object()) {
      const gguf::TensorInfo* t = adapter.find_tensor(tensor);
      ASSERT_NE(t, nullptr) << tensor;
      const auto bytes = adapter.tensor_data(*t);
      double sum = 0;
      for (size_t i = 0; i < bytes.size() / 4; ++i) {
        float v;
        std::memcpy(&v, bytes.data() + 4 * i, 4);
        sum += static_cast<double>(v) * v;
      }
      EXPECT_NEAR(std::sqrt(sum), l2.to_number<double>(), 1e-4 * l2.to_number<double>()) << tensor;
    }
  }
  EXPECT_GT(cases, 0);
}

TEST(TrainCommand, FreshAdapterWithBatchesAndSchedule) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const fs::path out = tmp.path() / "a.gguf", log = tmp.path() / "log.jsonl";
  const CommandResult r =
      run_hearth({"train",      (dir / "models" / "qwen2-f32.gguf").string(),
                  "--data",     (dir / "train" / "qwen2-f32.train.jsonl").string(),
                  "--out",      out.string(),
                  "--rank",     "4",
                  "--targets",  "q,o",
                  "--steps",    "4",
                  "--batch",    "2",
                  "--lr",       "1e-3",
                  "--warmup",   "1",
                  "--schedule", "linear",
                  "--log",      log.string(),
                  "--threads",  "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const gguf::File adapter = gguf::File::open(out);
  EXPECT_EQ(adapter.get_string("general.architecture"), "qwen2");
  EXPECT_EQ(adapter.tensors().size(), 8u);  // q and o of 2 layers, A and B each
  EXPECT_NE(adapter.find_tensor("blk.1.attn_output.weight.lora_b"), nullptr);
  const std::vector<json::object> lines = read_log(log);
  ASSERT_EQ(lines.size(), 4u);
  // Warm-up of 1 step at lr/2, then linear decay from lr to 0 over the remaining 3.
  EXPECT_NEAR(lines[0].at("lr").to_number<double>(), 5e-4, 1e-9);
  EXPECT_NEAR(lines[1].at("lr").to_number<double>(), 1e-3, 1e-9);
  EXPECT_NEAR(lines[3].at("lr").to_number<double>(), 0.0, 1e-9);
}

TEST(TrainCommand, BadDataLinesAreReportedBeforeTraining) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const fs::path data = tmp.path() / "data.jsonl", out = tmp.path() / "a.gguf";
  std::ofstream(data) << "{\"tokens\": [1, 2, 3], \"mask\": [0, 1, 1]}\n"
                      << "{\"tokens\": [1, 2], \"mask\": [0]}\n"
                      << "{\"tokens\": [1, 100000], \"mask\": [0, 1]}\n";
  const CommandResult r = run_hearth({"train", (dir / "models" / "llama-gqa-f32.gguf").string(),
                                      "--data", data.string(), "--out", out.string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(test::contains(r.err, "2 bad lines")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "line 2:")) << r.err;
  EXPECT_TRUE(test::contains(r.err, "line 3: token 100000")) << r.err;
  EXPECT_FALSE(test::contains(r.err, "step 1")) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace hearth
