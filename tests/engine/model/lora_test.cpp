// LoRA adapters (engine/model/lora.h): what a bad adapter file says, and the arithmetic on every
// family and several base types, checked against the same model with the adapter folded into its
// weights (lora_files.h), since the conformance pack has references for three adapters only.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/model/context.h"
#include "lora_files.h"
#include "support/float_compare.h"
#include "support/test_support.h"

namespace hearth::model::test {
namespace {

namespace fs = std::filesystem;
using hearth::test::expect_error;

// P1 of the conformance references, tokenized with BOS.
const std::vector<int32_t> kP1 = {1,   612, 580, 956, 420, 716, 687,
                                  696, 701, 622, 264, 704, 693, 912};
const std::vector<std::string> kSevenTargets = {"attn_q.weight",      "attn_k.weight",
                                                "attn_v.weight",      "attn_output.weight",
                                                "ffn_gate.weight",    "ffn_up.weight",
                                                "ffn_down.weight"};

// P1 in one batch, every position's logits, with these adapters (scalar reference, exact F32).
std::vector<float> p1_logits(const std::shared_ptr<const Model>& model,
                             std::vector<AppliedLora> adapters = {}, bool batch_invariant = false) {
  ContextOptions o;
  o.n_ctx = 64;
  o.adapters = std::move(adapters);
  o.batch_invariant = batch_invariant;
  Context ctx(model, o);
  std::vector<BatchEntry> batch;
  for (size_t i = 0; i < kP1.size(); ++i) batch.push_back({kP1[i], static_cast<int>(i), 0, true});
  const Logits l = ctx.decode(batch);
  std::vector<float> out;
  for (size_t r = 0; r < l.size(); ++r) out.insert(out.end(), l[r].begin(), l[r].end());
  return out;
}

// Logits of the same length, their largest difference.
float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return hearth::test::max_abs_diff(a, b);
}

class LoraTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto dir = hearth::test::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    models_ = *dir / "models";
    model_ = Model::load(models_ / "llama-gqa-f32.gguf");
  }
  // Writes `file` and loads it against llama-gqa-f32 (n_embd 64, attn_k [64, 32]).
  void load(const AdapterFile& file) {
    write_adapter(tmp_.path() / "adapter.gguf", file);
    LoraAdapter::load(tmp_.path() / "adapter.gguf", *model_);
  }

  fs::path models_;
  std::shared_ptr<const Model> model_;
  hearth::test::TempDir tmp_;
};

TEST_F(LoraTest, WrongArchitectureIsNamed) {
  AdapterFile f;
  f.arch = "qwen2";
  add_random_pair(f, "blk.0.attn_q.weight", 64, 64, 4, 1);
  expect_error([&] { load(f); }, ErrorKind::invalid_input,
               {"adapter.gguf", "architecture 'qwen2'", "'llama'"});
  f.arch = "";
  expect_error([&] { load(f); }, ErrorKind::invalid_input, {"general.architecture"});
}

TEST_F(LoraTest, ShapeMismatchNamesTheTensorAndBothShapes) {
  AdapterFile f;
  add_random_pair(f, "blk.0.attn_k.weight", 64, 64, 4, 1);  // attn_k has 32 outputs
  expect_error([&] { load(f); }, ErrorKind::invalid_input,
               {"blk.0.attn_k.weight.lora_b", "[4, 64]", "[64, 32]", "expected [4, 32]"});
  AdapterFile g;
  add_random_pair(g, "blk.1.ffn_down.weight", 64, 64, 4, 1);  // ffn_down has 160 inputs
  expect_error([&] { load(g); }, ErrorKind::invalid_input,
               {"blk.1.ffn_down.weight.lora_a", "[64, 4]", "[160, 64]"});
}

TEST_F(LoraTest, LoneHalfIsNamed) {
  AdapterFile f;
  add_random_pair(f, "blk.0.attn_q.weight", 64, 64, 4, 1);
  f.tensors.pop_back();  // lora_a without lora_b
  expect_error([&] { load(f); }, ErrorKind::corrupt_file,
               {"blk.0.attn_q.weight.lora_a", "has no 'blk.0.attn_q.weight.lora_b'"});
  f.tensors.clear();
  add_random_pair(f, "blk.0.attn_v.weight", 64, 32, 4, 1);
  f.tensors.erase(f.tensors.begin());  // lora_b without lora_a
  expect_error([&] { load(f); }, ErrorKind::corrupt_file,
               {"blk.0.attn_v.weight.lora_b", "has no 'blk.0.attn_v.weight.lora_a'"});
}

TEST_F(LoraTest, RanksOfAAndBMustAgree) {
  AdapterFile f;
  f.tensors.push_back({"blk.0.attn_q.weight.lora_a", {64, 4}, std::vector<float>(256)});
  f.tensors.push_back({"blk.0.attn_q.weight.lora_b", {8, 64}, std::vector<float>(512)});
  expect_error([&] { load(f); }, ErrorKind::corrupt_file,
               {"ranks", "blk.0.attn_q.weight.lora_a", "[64, 4]", "[8, 64]"});
}

TEST_F(LoraTest, FileThatIsNoAdapterIsRefused) {
  AdapterFile f;
  f.general_type = "model";
  add_random_pair(f, "blk.0.attn_q.weight", 64, 64, 4, 1);
  expect_error([&] { load(f); }, ErrorKind::invalid_input,
               {"is not a LoRA adapter", "general.type is 'model'", "'adapter'"});
  // A model file given as an adapter (it has no general.type).
  expect_error([&] { LoraAdapter::load(models_ / "llama-gqa-f32.gguf", *model_); },
               ErrorKind::invalid_input, {"llama-gqa-f32.gguf", "general.type is missing"});
  f.general_type = "adapter";
  f.adapter_type = "ia3";
  expect_error([&] { load(f); }, ErrorKind::unsupported, {"adapter.type is 'ia3'", "'lora'"});
}

TEST_F(LoraTest, WeightsTheModelLacksOrThatAreUnsupportedAreNamed) {
  AdapterFile f;
  add_random_pair(f, "blk.7.attn_q.weight", 64, 64, 4, 1);
  expect_error([&] { load(f); }, ErrorKind::invalid_input,
               {"'blk.7.attn_q.weight'", "does not have"});
  f.tensors.clear();
  add_random_pair(f, "output.weight", 64, 1000, 4, 1);  // the model's output is token_embd
  expect_error([&] { load(f); }, ErrorKind::invalid_input, {"'output.weight'", "does not have"});
  f.tensors.clear();
  add_random_pair(f, "token_embd.weight", 64, 1000, 4, 1);
  expect_error([&] { load(f); }, ErrorKind::unsupported, {"token_embd.weight", "not supported"});
  f.tensors.clear();
  f.tensors.push_back({"blk.0.attn_q.weight.lora_c", {64, 4}, std::vector<float>(256)});
  expect_error([&] { load(f); }, ErrorKind::corrupt_file, {"'blk.0.attn_q.weight.lora_c'"});
}

TEST_F(LoraTest, ExpertWeightsAreRefusedOnMixtral) {
  const auto mixtral = Model::load(models_ / "mixtral-f32.gguf");
  AdapterFile f;
  f.tensors.push_back({"blk.0.ffn_up_exps.weight.lora_a", {64, 4, 4}, std::vector<float>(1024)});
  f.tensors.push_back({"blk.0.ffn_up_exps.weight.lora_b", {4, 128, 4}, std::vector<float>(2048)});
  write_adapter(tmp_.path() / "experts.gguf", f);
  expect_error([&] { LoraAdapter::load(tmp_.path() / "experts.gguf", *mixtral); },
               ErrorKind::unsupported, {"blk.0.ffn_up_exps.weight", "not supported"});
}

// Two adapters sum their terms: the same adapter at 0.25 and 0.75 equals it once at 1.0; the
// scale multiplies alpha / r; and a batch-invariant context gives the same logits.
TEST_F(LoraTest, SeveralAdaptersAddTheirTerms) {
  const AdapterFile f = random_adapter(models_ / "llama-gqa-f32.gguf", kSevenTargets, 4, 8, 7);
  write_adapter(tmp_.path() / "a.gguf", f);
  const auto adapter = LoraAdapter::load(tmp_.path() / "a.gguf", *model_);
  EXPECT_EQ(adapter->weights.size(), 14u);
  EXPECT_FLOAT_EQ(adapter->effective_scale(adapter->weights[0], 0.5f), 0.5f * 8 / 4);
  const auto once = p1_logits(model_, {{adapter, 1.0f}});
  const auto twice = p1_logits(model_, {{adapter, 0.25f}, {adapter, 0.75f}});
  EXPECT_LE(max_abs_diff(once, twice), 1e-4f);
  EXPECT_GT(max_abs_diff(once, p1_logits(model_, {{adapter, 0.5f}})), 1e-2f);
  EXPECT_EQ(max_abs_diff(p1_logits(model_, {{adapter, 1.0f}}, true),
                         p1_logits(model_, {{adapter, 1.0f}}, true)),
            0.0f);
  EXPECT_LE(max_abs_diff(once, p1_logits(model_, {{adapter, 1.0f}}, true)), 1e-4f);
}

struct FamilyCase {
  std::string model;
  std::vector<std::string> targets;
};

void PrintTo(const FamilyCase& c, std::ostream* os) { *os << c.model; }

class LoraFamily : public testing::TestWithParam<FamilyCase> {};

// Base + adapter computes what the merged model computes, and differs from the base alone.
TEST_P(LoraFamily, EqualsTheMergedModel) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const fs::path base = dir / "models" / GetParam().model;
  hearth::test::TempDir tmp;
  const AdapterFile f = random_adapter(base, GetParam().targets, 4, 8, 11);
  ASSERT_FALSE(f.tensors.empty());
  write_adapter(tmp.path() / "adapter.gguf", f);
  write_merged(base, f, 0.75f, tmp.path() / "merged.gguf");

  const auto model = Model::load(base);
  const auto adapter = LoraAdapter::load(tmp.path() / "adapter.gguf", *model);
  EXPECT_EQ(adapter->weights.size() * 2, f.tensors.size());
  const auto with = p1_logits(model, {{adapter, 0.75f}});
  EXPECT_LE(max_abs_diff(with, p1_logits(Model::load(tmp.path() / "merged.gguf"))), 1e-3f);
  EXPECT_GT(max_abs_diff(with, p1_logits(model)), 1e-2f);
}

INSTANTIATE_TEST_SUITE_P(
    Families, LoraFamily,
    testing::Values(FamilyCase{"llama-gqa-f32.gguf", kSevenTargets},
                    FamilyCase{"llama3-f16.gguf", kSevenTargets},
                    FamilyCase{"qwen2-f32.gguf", kSevenTargets},
                    FamilyCase{"phi3-f32.gguf",  // fused attn_qkv and gate-up ffn_up
                               {"attn_qkv.weight", "attn_output.weight", "ffn_up.weight",
                                "ffn_down.weight"}},
                    FamilyCase{"mixtral-f32.gguf",  // attention and the router
                               {"attn_q.weight", "attn_k.weight", "attn_v.weight",
                                "attn_output.weight", "ffn_gate_inp.weight"}},
                    FamilyCase{"quant-base-q4_k_m.gguf", kSevenTargets},
                    FamilyCase{"quant-base-q8_0.gguf", kSevenTargets},
                    FamilyCase{"quant-base-q5_k_m.gguf", kSevenTargets}),
    [](const auto& info) {
      std::string n = info.param.model.substr(0, info.param.model.find(".gguf"));
      for (char& ch : n) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      return n;
    });

}  // namespace
}  // namespace hearth::model::test
