// The whole model's LoRA gradients against finite differences of its loss, per architecture:
// tiny synthetic models written in the test (llama at F32, qwen2 with its Q/K/V biases on a
// Q8_0 base) and, when the conformance pack is present, its Llama 3 (rope_freqs, F16 base),
// phi3 (fused QKV and gate-up), Mixtral (routing and frozen experts in the gradient's path) and
// a Q4_K_M base. Every factor of every adapted weight is checked along the gradient's own
// direction (analytic |g|) and one random direction, in exact F32 arithmetic.
// Tolerance: |g·d − ΔL/2h| ≤ 1e-5·|L| + 2e-2·|g·d| (h = 1e-2; see grad_check.h).
#include <gtest/gtest.h>

#include "engine/quantize/synth.h"
#include "grad_check.h"
#include "support/test_support.h"
#include "train/train.h"
#include "train_test_util.h"

namespace hearth::train::test {
namespace {

namespace fs = std::filesystem;

void check_model(const fs::path& path) {
  SCOPED_TRACE(path.filename().string());
  auto model = model::Model::load(path);
  const Network network(model, exact_options());
  const std::vector<std::string> targets(std::begin(kDefaultTargets), std::end(kDefaultTargets));
  LoraAdapter adapter = new_adapter(*model, targets, 2, 4.0f, 7);
  ASSERT_FALSE(adapter.weights.empty());
  // B starts at 0, which would leave every A's gradient 0: give B values so both are tested.
  std::mt19937 rng(11);
  for (LoraWeight& p : adapter.weights) p.b = random_vector(p.b.size(), rng, 0.3f);

  std::uniform_int_distribution<int32_t> token(3, model->n_vocab() - 1);
  Example ex;
  for (int t = 0; t < 12; ++t) {
    ex.tokens.push_back(token(rng));
    ex.mask.push_back(t >= 4);
  }
  const float scale = 0.8f;
  LoraGradients grads = LoraGradients::like(adapter);
  const double l0 = network.run(adapter, scale, ex.sequence(), &grads).loss;
  auto loss = [&] { return network.run(adapter, scale, ex.sequence(), nullptr).loss; };

  for (size_t i = 0; i < adapter.weights.size(); ++i) {
    LoraWeight& p = adapter.weights[i];
    for (auto [values, grad, factor] :
         {std::tuple{&p.a, &grads.a[i], "A"}, std::tuple{&p.b, &grads.b[i], "B"}}) {
      const double norm = std::sqrt(dot(*grad, *grad));
      EXPECT_GT(norm, 0.0) << p.base << " " << factor << " has no gradient";
      for (int kind = 0; kind < 2; ++kind) {
        DirectionalCheck c;
        if (kind == 0) {  // along the gradient: d = g/|g|, g·d = |g|
          std::vector<float> d = *grad;
          for (float& v : d) v = static_cast<float>(v / norm);
          const std::vector<float> x0 = *values;
          const float h = 1e-2f;
          for (size_t j = 0; j < d.size(); ++j) (*values)[j] = x0[j] + h * d[j];
          const double plus = loss();
          for (size_t j = 0; j < d.size(); ++j) (*values)[j] = x0[j] - h * d[j];
          const double minus = loss();
          *values = x0;
          c = {norm, (plus - minus) / (2.0 * h)};
        } else {
          c = check_direction(*values, *grad, loss, rng);
        }
        EXPECT_NEAR(c.analytic, c.numeric, 1e-5 * std::abs(l0) + 2e-2 * std::abs(c.analytic))
            << p.base << " " << factor
            << (kind == 0 ? ", gradient direction" : ", random direction");
      }
    }
  }
}

fs::path synth(const fs::path& dir, const std::string& arch, const std::string& preset) {
  quantize::SynthOptions options;
  options.arch = arch;
  options.shape = "tiny";
  options.preset = preset;
  options.seed = 3;
  const fs::path out = dir / (arch + "-" + preset + ".gguf");
  quantize::write_synth(quantize::plan_synth(options), out);
  return out;
}

TEST(ModelGradient, LlamaF32) {
  hearth::test::TempDir dir;
  check_model(synth(dir.path(), "llama", "F32"));
}

TEST(ModelGradient, Qwen2BiasesOnQ8_0Base) {
  hearth::test::TempDir dir;
  check_model(synth(dir.path(), "qwen2", "Q8_0"));
}

TEST(ModelGradient, ConformanceModels) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* name :
       {"llama3-f16.gguf", "phi3-f32.gguf", "mixtral-f32.gguf", "quant-base-q4_k_m.gguf"})
    check_model(dir / "models" / name);
}

// Families whose blocks the trainer does not compute (q/k norms, post norms, GELU, sliding
// window) are refused by name rather than trained wrong.
TEST(ModelGradient, RefusesQwen3AndGemma3) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* arch : {"qwen3", "gemma3"})
    hearth::test::expect_error(
        [&] { Network(model::Model::load(dir / "arch" / (std::string(arch) + "-f32.gguf")),
                      exact_options()); },
        ErrorKind::unsupported, {std::string("a ") + arch + " model is not supported yet", "llama"});
}

}  // namespace
}  // namespace hearth::train::test
