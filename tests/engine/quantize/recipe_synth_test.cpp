// Per-tensor type rules (recipe.h) on real model layouts, and synth plans of the big shapes
// (planned only: nothing that size is written in tests).
#include <gtest/gtest.h>

#include <map>

#include "core/error.h"
#include "engine/quantize/recipe.h"
#include "engine/quantize/synth.h"
#include "support/test_support.h"

namespace hearth::quantize {
namespace {

using T = TensorType;

std::map<std::string, T> types_of(const SynthPlan& plan) {
  std::map<std::string, T> out;
  for (const auto& t : plan.tensors) out[t.name] = t.type;
  return out;
}

const SynthTensor* find(const SynthPlan& plan, const std::string& name) {
  for (const auto& t : plan.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

SynthPlan plan(const std::string& shape, const std::string& type, const std::string& arch = "") {
  SynthOptions o;
  o.shape = shape;
  o.preset = type;
  o.arch = arch;
  return plan_synth(o);
}

TEST(Recipe, PresetsAreFoundCaseInsensitively) {
  ASSERT_NE(find_preset("q4_k_m"), nullptr);
  EXPECT_EQ(find_preset("Q4_K_M")->file_type, 15u);
  EXPECT_EQ(find_preset("q8_0")->file_type, 7u);
  EXPECT_EQ(find_preset("IQ4_NL")->file_type, 25u);
  EXPECT_EQ(find_preset("bf16")->file_type, 32u);
  EXPECT_EQ(find_preset("Q4_K_X"), nullptr);
  EXPECT_NE(preset_names().find("Q5_K_M"), std::string::npos);
}

TEST(Recipe, LlamaOrderPutsGlobalsFirstThenLayersNumerically) {
  std::vector<TensorDesc> t = {{"blk.10.attn_q.weight", {8, 8}, T::f16},
                               {"token_embd.weight", {8, 8}, T::f16},
                               {"blk.2.attn_q.weight", {8, 8}, T::f16},
                               {"blk.2.attn_k.weight", {8, 8}, T::f16},
                               {"output_norm.weight", {8}, T::f32}};
  const auto order = llama_model_order(t);
  std::vector<std::string> names;
  for (size_t i : order) names.push_back(t[i].name);
  EXPECT_EQ(names, (std::vector<std::string>{"output_norm.weight", "token_embd.weight",
                                             "blk.2.attn_k.weight", "blk.2.attn_q.weight",
                                             "blk.10.attn_q.weight"}));
}

TEST(Recipe, UseMoreBitsLayersOf16LayerModel) {
  // Llama 3.2 1B, Q4_K_M: attn_v and ffn_down get Q6_K in layers 0,1 (first eighth), 4, 7, 10,
  // 13 (every third after it) and 14, 15 (last eighth) — llama.cpp's use_more_bits.
  const SynthPlan p = plan("llama-3.2-1b", "Q4_K_M");
  const auto types = types_of(p);
  for (int il = 0; il < 16; ++il) {
    const bool more = il < 2 || il >= 14 || (il - 2) % 3 == 2;
    const std::string b = "blk." + std::to_string(il) + ".";
    EXPECT_EQ(types.at(b + "attn_v.weight"), more ? T::q6_k : T::q4_k) << il;
    EXPECT_EQ(types.at(b + "ffn_down.weight"), more ? T::q6_k : T::q4_k) << il;
    EXPECT_EQ(types.at(b + "attn_q.weight"), T::q4_k);
    EXPECT_EQ(types.at(b + "ffn_up.weight"), T::q4_k);
    EXPECT_EQ(types.at(b + "attn_norm.weight"), T::f32);
  }
  EXPECT_EQ(types.at("token_embd.weight"), T::q6_k);  // tied: the output's rule
  EXPECT_EQ(types.at("rope_freqs.weight"), T::f32);
  EXPECT_EQ(types.count("output.weight"), 0u);
}

TEST(Recipe, OtherPresetRules) {
  auto t = types_of(plan("llama-3.2-1b", "Q3_K_M"));
  EXPECT_EQ(t.at("blk.0.attn_v.weight"), T::q5_k);
  EXPECT_EQ(t.at("blk.1.attn_v.weight"), T::q5_k);
  EXPECT_EQ(t.at("blk.2.attn_v.weight"), T::q4_k);
  EXPECT_EQ(t.at("blk.0.ffn_down.weight"), T::q5_k);  // i < n_layer/16
  EXPECT_EQ(t.at("blk.5.ffn_down.weight"), T::q4_k);
  EXPECT_EQ(t.at("blk.5.attn_output.weight"), T::q4_k);
  EXPECT_EQ(t.at("blk.5.attn_q.weight"), T::q3_k);
  t = types_of(plan("llama-3.2-1b", "Q2_K"));
  EXPECT_EQ(t.at("blk.3.attn_v.weight"), T::q4_k);  // n_gqa = 4
  EXPECT_EQ(t.at("blk.3.ffn_down.weight"), T::q3_k);
  EXPECT_EQ(t.at("blk.3.attn_output.weight"), T::q3_k);
  EXPECT_EQ(t.at("blk.3.ffn_gate.weight"), T::q2_k);
  t = types_of(plan("llama-3.2-1b", "IQ4_NL"));
  EXPECT_EQ(t.at("blk.3.attn_v.weight"), T::q5_k);
  EXPECT_EQ(t.at("blk.1.ffn_down.weight"), T::q5_k);
  EXPECT_EQ(t.at("blk.2.ffn_down.weight"), T::iq4_nl);
  EXPECT_EQ(t.at("token_embd.weight"), T::q6_k);
  t = types_of(plan("llama-3.2-1b", "Q8_0"));
  EXPECT_EQ(t.at("token_embd.weight"), T::q8_0);
  t = types_of(plan("llama-3.2-1b", "F16"));
  EXPECT_EQ(t.at("token_embd.weight"), T::f16);
  EXPECT_EQ(t.at("blk.0.ffn_down.weight"), T::f16);
  EXPECT_EQ(t.at("blk.0.ffn_norm.weight"), T::f32);
}

TEST(Recipe, RowsThatDoNotSplitIntoSuperBlocksFallBack) {
  ModelFacts f;
  f.shape.arch = "llama";
  f.shape.n_layer = 1;
  f.shape.n_head = 4;
  f.shape.n_head_kv = 4;
  std::vector<TensorDesc> t = {{"blk.0.ffn_down.weight", {1056, 64}, T::f16},
                               {"blk.0.ffn_gate.weight", {96, 64}, T::f16},
                               {"blk.0.ffn_up.weight", {100, 64}, T::f16},
                               {"blk.0.attn_q.weight", {128, 128}, T::f16}};
  const auto order = llama_model_order(t);
  std::vector<TensorDesc> ordered;
  for (size_t i : order) ordered.push_back(t[i]);
  auto types = plan_tensor_types(*find_preset("Q4_K_M"), f, ordered);
  std::map<std::string, T> m;
  for (size_t k = 0; k < ordered.size(); ++k) m[ordered[k].name] = types[k];
  EXPECT_EQ(m["blk.0.ffn_down.weight"], T::q8_0);  // Q6_K (use_more_bits) -> Q8_0
  EXPECT_EQ(m["blk.0.ffn_gate.weight"], T::q5_0);  // Q4_K -> Q5_0
  EXPECT_EQ(m["blk.0.ffn_up.weight"], T::f16);     // not even a multiple of 32
  EXPECT_EQ(m["blk.0.attn_q.weight"], T::q5_0);
  types = plan_tensor_types(*find_preset("Q2_K"), f, ordered);
  for (size_t k = 0; k < ordered.size(); ++k) m[ordered[k].name] = types[k];
  EXPECT_EQ(m["blk.0.ffn_gate.weight"], T::iq4_nl);
}

struct ShapeCase {
  const char* shape;
  const char* arch;
  int n_layer, n_embd, n_head, n_head_kv, n_ff, n_vocab;
  bool rope_freqs, biases;
};

class SynthShapeTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(SynthShapeTest, PlanHasTheRealModelsTensors) {
  const ShapeCase c = GetParam();
  const SynthPlan p = plan(c.shape, "Q4_0");
  EXPECT_EQ(p.arch, c.arch);
  EXPECT_EQ(p.n_vocab, c.n_vocab);
  const int head_dim = c.n_embd / c.n_head;
  const int64_t kv = static_cast<int64_t>(c.n_head_kv) * head_dim;
  const int64_t E = c.n_embd, F = c.n_ff;
  ASSERT_NE(find(p, "token_embd.weight"), nullptr);
  EXPECT_EQ(find(p, "token_embd.weight")->ne, (std::vector<int64_t>{E, c.n_vocab}));
  EXPECT_EQ(find(p, "output.weight"), nullptr);
  EXPECT_EQ(find(p, "output_norm.weight")->ne, (std::vector<int64_t>{E}));
  EXPECT_EQ(find(p, "rope_freqs.weight") != nullptr, c.rope_freqs);
  if (c.rope_freqs) {
    EXPECT_EQ(find(p, "rope_freqs.weight")->ne, (std::vector<int64_t>{head_dim / 2}));
  }
  for (int il = 0; il < c.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    ASSERT_NE(find(p, b + "attn_q.weight"), nullptr) << b;
    EXPECT_EQ(find(p, b + "attn_q.weight")->ne, (std::vector<int64_t>{E, E}));
    EXPECT_EQ(find(p, b + "attn_k.weight")->ne, (std::vector<int64_t>{E, kv}));
    EXPECT_EQ(find(p, b + "attn_v.weight")->ne, (std::vector<int64_t>{E, kv}));
    EXPECT_EQ(find(p, b + "attn_output.weight")->ne, (std::vector<int64_t>{E, E}));
    EXPECT_EQ(find(p, b + "ffn_gate.weight")->ne, (std::vector<int64_t>{E, F}));
    EXPECT_EQ(find(p, b + "ffn_up.weight")->ne, (std::vector<int64_t>{E, F}));
    EXPECT_EQ(find(p, b + "ffn_down.weight")->ne, (std::vector<int64_t>{F, E}));
    EXPECT_EQ(find(p, b + "attn_norm.weight")->ne, (std::vector<int64_t>{E}));
    EXPECT_EQ(find(p, b + "attn_q.bias") != nullptr, c.biases);
    if (c.biases) {
      EXPECT_EQ(find(p, b + "attn_k.bias")->ne, (std::vector<int64_t>{kv}));
    }
  }
  EXPECT_EQ(find(p, "blk." + std::to_string(c.n_layer) + ".attn_q.weight"), nullptr);
  const size_t per_layer = 9 + (c.biases ? 3 : 0);
  EXPECT_EQ(p.tensors.size(), per_layer * c.n_layer + 2 + (c.rope_freqs ? 1 : 0));
  // Metadata the engine reads.
  std::map<std::string, const gguf::Value*> md;
  for (const auto& [k, v] : p.metadata) md[k] = &v;
  const std::string a = c.arch;
  EXPECT_EQ(md.at(a + ".block_count")->u, static_cast<uint64_t>(c.n_layer));
  EXPECT_EQ(md.at(a + ".embedding_length")->u, static_cast<uint64_t>(c.n_embd));
  EXPECT_EQ(md.at(a + ".attention.head_count")->u, static_cast<uint64_t>(c.n_head));
  EXPECT_EQ(md.at(a + ".attention.head_count_kv")->u, static_cast<uint64_t>(c.n_head_kv));
  EXPECT_EQ(md.at(a + ".feed_forward_length")->u, static_cast<uint64_t>(c.n_ff));
  EXPECT_EQ(md.at("general.file_type")->u, 2u);
  EXPECT_NE(md.at("general.name")->s.find("RANDOM"), std::string::npos);
  EXPECT_EQ(md.at("tokenizer.ggml.tokens")->items.size(), static_cast<size_t>(c.n_vocab));
  EXPECT_GT(p.file_size, p.parameter_count / 2);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SynthShapeTest,
    ::testing::Values(ShapeCase{"llama-3.2-1b", "llama", 16, 2048, 32, 8, 8192, 128256, true, false},
                      ShapeCase{"llama-3.2-3b", "llama", 28, 3072, 24, 8, 8192, 128256, true, false},
                      ShapeCase{"qwen2.5-1.5b", "qwen2", 28, 1536, 12, 2, 8960, 151936, false, true}),
    [](const auto& info) {
      std::string s = info.param.shape;
      for (char& ch : s)
        if (ch == '-' || ch == '.') ch = '_';
      return s;
    });

TEST(Synth, OneBillionF16PlanMatchesTheRealFileSize) {
  const SynthPlan p = plan("llama-3.2-1b", "F16");
  // Llama 3.2 1B: 1.236B parameters (tied embeddings), about 2.47 GB in F16.
  EXPECT_EQ(p.parameter_count, 1235814432u);
  EXPECT_GT(p.file_size, 2470000000u);
  EXPECT_LT(p.file_size, 2480000000u);
}

TEST(Synth, VocabularyFileDecidesTheTokenizer) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  SynthOptions o;
  o.shape = "tiny";
  o.vocab = dir / "tokenizer" / "ggml-vocab-llama-bpe.gguf";
  const SynthPlan p = plan_synth(o);
  EXPECT_EQ(p.n_vocab, 128256);
  EXPECT_EQ(find(p, "token_embd.weight")->ne[1], 128256);
  bool has_merges = false;
  for (const auto& [k, v] : p.metadata) has_merges |= k == "tokenizer.ggml.merges";
  EXPECT_TRUE(has_merges);
  EXPECT_FALSE(p.notes.empty());
}

// What synth writes is what the engine reads back: describe() of a written tiny model gives the
// shape's numbers, and the recipe's facts come from the same reading.
TEST(Synth, WrittenFileDescribesAsItsShape) {
  test::TempDir dir;
  for (const char* arch : {"llama", "qwen2"}) {
    SCOPED_TRACE(arch);
    const SynthPlan p = plan("tiny", "Q8_0", arch);
    const std::filesystem::path out = dir.path() / (std::string(arch) + ".gguf");
    write_synth(p, out, {}, 1);
    const gguf::File file = gguf::File::open(out);
    const model::Hparams hp = model::describe(file);
    const SynthShape& s = *find_synth_shape("tiny");
    EXPECT_EQ(hp.arch, arch);
    EXPECT_EQ(hp.n_layer, s.n_layer);
    EXPECT_EQ(hp.n_embd, s.n_embd);
    EXPECT_EQ(hp.n_head, s.n_head);
    EXPECT_EQ(hp.n_head_kv, s.n_head_kv);
    EXPECT_EQ(hp.head_dim, s.n_embd / s.n_head);
    EXPECT_EQ(hp.n_ff, s.n_ff);
    EXPECT_EQ(hp.n_vocab, s.n_vocab);
    EXPECT_EQ(hp.n_ctx_train, s.n_ctx);
    EXPECT_FLOAT_EQ(hp.rope_base, s.rope_base);
    EXPECT_FLOAT_EQ(hp.rms_eps, s.rms_eps);
    EXPECT_EQ(hp.rope_style, std::string(arch) == "qwen2" ? model::RopeStyle::neox
                                                          : model::RopeStyle::normal);
    const ModelFacts facts = model_facts(file);
    EXPECT_EQ(facts.shape.n_layer, s.n_layer);
    EXPECT_EQ(facts.shape.n_head_kv, s.n_head_kv);
    EXPECT_FALSE(facts.has_output);
  }
}

TEST(Synth, RejectsUnknownNames) {
  EXPECT_THROW(plan("llama-9b", "F16"), Error);
  EXPECT_THROW(plan("tiny", "Q9_K"), Error);
  EXPECT_THROW(plan("tiny", "F16", "gpt2"), Error);
}

}  // namespace
}  // namespace hearth::quantize
