// The training trajectories of the conformance pack (README §8) in exact mode: for every
// <base>.train-ref.json in train/, start from its init adapter, take `steps` AdamW steps (step s
// on example (s-1) mod n, one sequence per step) with plain F32 arithmetic and exact
// dequantization, and compare every step's loss (before its update) with the float64 reference
// within 5e-3·max(1, |ref|); then the mean loss over all examples with the final adapter
// (same tolerance) and each final factor's L2 norm (within 1e-4 relative: AdamW's normalised steps
// make the factors' trajectory insensitive to F32 rounding of the gradients).
// The same trajectories in the fast mode (the CPU's best kernel set, two threads) stay within the
// same tolerances on these F32 bases.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/thread_pool.h"
#include "support/json_test_util.h"
#include "support/test_support.h"
#include "train/train.h"
#include "train_test_util.h"

namespace hearth::train::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

json::value read_json(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return hearth::test::json_from(text.str());
}

double l2(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return std::sqrt(sum);
}

void check_trajectories(const fs::path& dir, const kernels::MatmulOptions& options) {
  const fs::path train_dir = dir / "train";
  std::vector<fs::path> refs;
  if (fs::is_directory(train_dir))
    for (const auto& entry : fs::directory_iterator(train_dir))
      if (entry.path().string().ends_with(".train-ref.json")) refs.push_back(entry.path());
  std::sort(refs.begin(), refs.end());
  if (refs.empty()) GTEST_SKIP() << "no train/*.train-ref.json in " << dir;

  for (const fs::path& ref_path : refs) {
    const std::string name = ref_path.filename().string();
    SCOPED_TRACE(name);
    const json::object ref = read_json(ref_path).as_object();
    auto model = model::Model::load(dir / "models" / std::string(ref.at("base").as_string()));
    const Network network(model, options);
    LoraAdapter init = read_adapter(train_dir / std::string(ref.at("init_adapter").as_string()));
    ASSERT_FLOAT_EQ(init.alpha, static_cast<float>(ref.at("alpha").to_number<double>()));
    const std::vector<Example> examples =
        read_tokenized_jsonl(train_dir / std::string(ref.at("data").as_string()), model->n_vocab());

    TrainSettings settings;
    settings.lora_scale = static_cast<float>(ref.at("scale").to_number<double>());
    settings.adamw.lr = static_cast<float>(ref.at("lr").to_number<double>());
    settings.adamw.weight_decay = static_cast<float>(ref.at("weight_decay").to_number<double>());
    Trainer trainer(network, std::move(init), settings);

    const json::array& losses = ref.at("losses").as_array();
    const auto steps = ref.at("steps").to_number<int64_t>();
    ASSERT_EQ(static_cast<int64_t>(losses.size()), steps);
    for (int64_t s = 1; s <= steps; ++s) {
      const Example& ex = examples[static_cast<size_t>((s - 1) % std::ssize(examples))];
      const double got = trainer.step(ex.sequence()).loss;
      const double want = losses[static_cast<size_t>(s - 1)].to_number<double>();
      EXPECT_NEAR(got, want, 5e-3 * std::max(1.0, std::abs(want)))
          << name << ": step " << s << " of " << steps;
    }
    const double eval_want = ref.at("eval_loss_after").to_number<double>();
    EXPECT_NEAR(trainer.evaluate(examples), eval_want, 5e-3 * std::max(1.0, std::abs(eval_want)))
        << name << ": eval_loss_after";

    const json::object& norms = ref.at("final_adapter_l2").as_object();
    EXPECT_EQ(norms.size(), 2 * trainer.adapter().weights.size()) << name;
    for (const LoraWeight& pair : trainer.adapter().weights) {
      for (const auto& [suffix, values] :
           {std::pair{".lora_a", &pair.a}, std::pair{".lora_b", &pair.b}}) {
        const std::string tensor = pair.base + suffix;
        const json::value* want = norms.if_contains(tensor);
        ASSERT_NE(want, nullptr) << name << ": no reference norm for " << tensor;
        const double w = want->to_number<double>();
        EXPECT_NEAR(l2(*values), w, 1e-4 * std::max(1.0, w)) << name << ": L2 of " << tensor;
      }
    }
  }
}

TEST(TrainConformance, EveryTrajectoryFollowsTheReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  check_trajectories(dir, exact_options());
}

TEST(TrainConformance, FastKernelsFollowTheReferenceOnF32Bases) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  ThreadPool pool(2);
  kernels::MatmulOptions fast;
  fast.kernels = kernels::active_kernel_set();
  fast.arithmetic = kernels::Arithmetic::quantized_activations;
  fast.pool = &pool;
  check_trajectories(dir, fast);
}

}  // namespace
}  // namespace hearth::train::test
