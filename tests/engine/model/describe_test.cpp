// describe(): a model's shape from its GGUF metadata, the one reading the loader, the quantizer,
// synth, the fit check and `hearth show` share. The loader's shape and describe()'s agree on every
// conformance model; missing keys and unknown architectures are named in the errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>

#include "core/error.h"
#include "engine/model/arch.h"
#include "engine/model/model.h"
#include "support/test_support.h"

namespace hearth::model {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using gguf::Value;

// Metadata of a small llama model, keyed by name (edited by the tests before writing).
std::map<std::string, Value> llama_metadata(const std::string& arch = "llama") {
  return {
      {"general.architecture", Value::of_string(arch)},
      {arch + ".context_length", Value::of_u32(2048)},
      {arch + ".embedding_length", Value::of_u32(256)},
      {arch + ".block_count", Value::of_u32(3)},
      {arch + ".feed_forward_length", Value::of_u32(512)},
      {arch + ".attention.head_count", Value::of_u32(8)},
      {arch + ".attention.head_count_kv", Value::of_u32(2)},
      {arch + ".attention.layer_norm_rms_epsilon", Value::of_f32(1e-6f)},
      {arch + ".rope.freq_base", Value::of_f32(500000.f)},
  };
}

gguf::File write_file(const fs::path& path, const std::map<std::string, Value>& metadata) {
  gguf::Writer w;
  for (const auto& [key, value] : metadata) w.set(key, value);
  w.write(path);
  return gguf::File::open(path);
}


TEST(Describe, ReadsEveryCount) {
  test::TempDir dir;
  const gguf::File file = write_file(dir.path() / "m.gguf", llama_metadata());
  const Hparams hp = describe(file);
  EXPECT_EQ(hp.arch, "llama");
  EXPECT_EQ(hp.n_ctx_train, 2048);
  EXPECT_EQ(hp.n_embd, 256);
  EXPECT_EQ(hp.n_layer, 3);
  EXPECT_EQ(hp.n_ff, 512);
  EXPECT_EQ(hp.n_head, 8);
  EXPECT_EQ(hp.n_head_kv, 2);
  EXPECT_EQ(hp.head_dim, 32);
  EXPECT_EQ(hp.n_expert, 0);
  EXPECT_EQ(hp.n_vocab, 0);  // no tokenizer.ggml.tokens
  EXPECT_FLOAT_EQ(hp.rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(hp.rope_base, 500000.f);
  EXPECT_EQ(hp.rope_style, RopeStyle::normal);
  // The file as stored gives the same counts for a file the engine runs.
  const Hparams stored = describe(file, DescribeMode::as_stored);
  EXPECT_EQ(stored.n_layer, 3);
  EXPECT_EQ(stored.n_head_kv, 2);
  EXPECT_EQ(stored.head_dim, 32);
  EXPECT_EQ(stored.n_ctx_train, 2048);
}

TEST(Describe, MissingRequiredKeyIsNamed) {
  test::TempDir dir;
  auto md = llama_metadata();
  md.erase("llama.block_count");
  const gguf::File file = write_file(dir.path() / "m.gguf", md);
  expect_error([&] { describe(file); }, ErrorKind::corrupt_file,
               {"m.gguf", "metadata key llama.block_count is missing"});
  // As stored: no error, the count is 0.
  EXPECT_EQ(describe(file, DescribeMode::as_stored).n_layer, 0);

  md = llama_metadata();
  md.erase("general.architecture");
  const gguf::File no_arch = write_file(dir.path() / "n.gguf", md);
  expect_error([&] { describe(no_arch); }, ErrorKind::corrupt_file,
               {"general.architecture is missing"});
  EXPECT_EQ(describe(no_arch, DescribeMode::as_stored).arch, "");

  md = llama_metadata();
  md["llama.attention.head_count_kv"] = Value::of_u32(3);
  const gguf::File bad_kv = write_file(dir.path() / "kv.gguf", md);
  expect_error([&] { describe(bad_kv); }, ErrorKind::corrupt_file,
               {"llama.attention.head_count_kv (3) does not divide llama.attention.head_count"});
}

TEST(Describe, UnknownArchitectureIsNamed) {
  test::TempDir dir;
  auto md = llama_metadata("mamba");
  md["mamba.attention.key_length"] = Value::of_u32(64);
  const gguf::File file = write_file(dir.path() / "m.gguf", md);
  expect_error([&] { describe(file); }, ErrorKind::unsupported,
               {"architecture 'mamba' is not supported", architecture_names()});
  // As stored, any architecture: the counts the fit check and `hearth show` use, with the head
  // dimension the file states.
  const Hparams stored = describe(file, DescribeMode::as_stored);
  EXPECT_EQ(stored.arch, "mamba");
  EXPECT_EQ(stored.n_layer, 3);
  EXPECT_EQ(stored.n_head_kv, 2);
  EXPECT_EQ(stored.head_dim, 64);
}

// What a writer stores for a shape (hearth synth) is what describe() reads back.
TEST(Describe, ShapeMetadataReadsBack) {
  Hparams hp;
  hp.arch = "qwen2";
  hp.rope_style = RopeStyle::neox;
  hp.n_vocab = 0;
  hp.n_ctx_train = 4096;
  hp.n_embd = 192;
  hp.n_layer = 5;
  hp.n_ff = 320;
  hp.n_head = 6;
  hp.n_head_kv = 3;
  hp.head_dim = 32;
  hp.n_expert = 4;
  hp.n_expert_used = 2;
  hp.rms_eps = 1e-6f;
  hp.rope_base = 1e6f;
  std::map<std::string, Value> md = {{"general.architecture", Value::of_string("qwen2")}};
  for (const auto& [key, value] : shape_metadata(hp)) md.emplace(key, value);
  EXPECT_EQ(md.count("qwen2.vocab_size"), 0u);
  test::TempDir dir;
  const Hparams back = describe(write_file(dir.path() / "m.gguf", md));
  EXPECT_EQ(back.arch, hp.arch);
  EXPECT_EQ(back.rope_style, hp.rope_style);
  EXPECT_EQ(back.n_ctx_train, hp.n_ctx_train);
  EXPECT_EQ(back.n_embd, hp.n_embd);
  EXPECT_EQ(back.n_layer, hp.n_layer);
  EXPECT_EQ(back.n_ff, hp.n_ff);
  EXPECT_EQ(back.n_head, hp.n_head);
  EXPECT_EQ(back.n_head_kv, hp.n_head_kv);
  EXPECT_EQ(back.head_dim, hp.head_dim);
  EXPECT_EQ(back.n_expert, hp.n_expert);
  EXPECT_EQ(back.n_expert_used, hp.n_expert_used);
  EXPECT_EQ(back.rms_eps, hp.rms_eps);
  EXPECT_EQ(back.rope_base, hp.rope_base);
}

TEST(Describe, ArchitectureTableNamesKeysAndTensors) {
  EXPECT_EQ(architecture_names(), "llama, qwen2, phi3, qwen3, gemma3");
  ASSERT_NE(find_arch("qwen2"), nullptr);
  EXPECT_TRUE(find_arch("qwen2")->qkv_bias);
  EXPECT_EQ(find_arch("phi3")->qkv, QkvLayout::fused);
  EXPECT_EQ(find_arch("gemma4"), nullptr);
  EXPECT_TRUE(find_arch("qwen3")->qk_norm);
  EXPECT_FALSE(find_arch("qwen3")->qkv_bias);
  EXPECT_TRUE(find_arch("gemma3")->sliding_window);
  EXPECT_EQ(find_arch("gemma3")->act, FfnActivation::gelu_tanh);
  EXPECT_TRUE(plain_llama_block(*find_arch("qwen2")));
  EXPECT_FALSE(plain_llama_block(*find_arch("qwen3")));
  EXPECT_EQ(metadata_key("qwen2", keys::kHeadCountKv), "qwen2.attention.head_count_kv");
  EXPECT_EQ(layer_tensor(7, tensors::kFfnDown), "blk.7.ffn_down.weight");
}

// The loader's shape is describe()'s, for every architecture of the conformance models.
TEST(Describe, MatchesTheLoadedConformanceModels) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* name : {"models/llama-gqa-f32", "models/llama3-f16", "models/mixtral-f32",
                           "models/phi3-f32", "models/qwen2-f32", "arch/qwen3-f32",
                           "arch/gemma3-f32"}) {
    SCOPED_TRACE(name);
    const fs::path path = dir / (std::string(name) + ".gguf");
    const gguf::File file = gguf::File::open(path);
    const Hparams d = describe(file);
    const auto model = Model::load(path);
    const Hparams& m = model->hparams();
    EXPECT_EQ(d.arch, m.arch);
    EXPECT_EQ(d.n_vocab, m.n_vocab);
    EXPECT_EQ(d.n_ctx_train, m.n_ctx_train);
    EXPECT_EQ(d.n_embd, m.n_embd);
    EXPECT_EQ(d.n_layer, m.n_layer);
    EXPECT_EQ(d.n_ff, m.n_ff);
    EXPECT_EQ(d.n_head, m.n_head);
    EXPECT_EQ(d.n_head_kv, m.n_head_kv);
    EXPECT_EQ(d.head_dim, m.head_dim);
    EXPECT_EQ(d.n_expert, m.n_expert);
    EXPECT_EQ(d.n_expert_used, m.n_expert_used);
    EXPECT_EQ(d.rms_eps, m.rms_eps);
    EXPECT_EQ(d.rope_base, m.rope_base);
    EXPECT_EQ(d.rope_style, m.rope_style);
    EXPECT_EQ(d.n_swa, m.n_swa);
    EXPECT_EQ(d.swa_layers, m.swa_layers);
    const Hparams s = describe(file, DescribeMode::as_stored);
    EXPECT_EQ(s.n_layer, m.n_layer);
    EXPECT_EQ(s.n_head_kv, m.n_head_kv);
    EXPECT_EQ(s.head_dim, m.head_dim);
    EXPECT_EQ(s.n_expert, m.n_expert);
    EXPECT_EQ(s.n_swa, m.n_swa);
    EXPECT_EQ(s.swa_layers, m.swa_layers);
  }
  // The further architectures' own parameters (README §6b).
  const Hparams qwen3 = describe(gguf::File::open(dir / "arch" / "qwen3-f32.gguf"));
  EXPECT_EQ(qwen3.head_dim, 32);  // key_length: q is 128 wide with n_embd 64
  EXPECT_EQ(qwen3.n_q_dim(), 128);
  EXPECT_EQ(qwen3.n_swa, 0);
  const Hparams gemma3 = describe(gguf::File::open(dir / "arch" / "gemma3-f32.gguf"));
  EXPECT_EQ(gemma3.n_swa, 8);
  EXPECT_EQ(gemma3.swa_layers, (std::vector<uint8_t>{1, 1, 0}));
  EXPECT_FLOAT_EQ(gemma3.rope_base_swa, 1e4f);
  EXPECT_FLOAT_EQ(gemma3.rope_base, 1e6f);
  EXPECT_FLOAT_EQ(gemma3.attention_scale(), 1.0f / std::sqrt(32.0f));
}

// What `hearth inspect` shows of a model's parameters.
TEST(Describe, ArchitectureFactsNameTheFamilysParameters) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto facts_of = [](const fs::path& path) {
    std::map<std::string, std::string> m;
    for (auto& [k, v] : architecture_facts(describe(gguf::File::open(path), DescribeMode::as_stored)))
      m[k] = v;
    return m;
  };
  auto gemma = facts_of(dir / "arch" / "gemma3-f32.gguf");
  EXPECT_EQ(gemma["architecture"], "gemma3");
  EXPECT_EQ(gemma["layers"], "3: 2 local (sliding window of 8 positions), 1 global");
  EXPECT_EQ(gemma["heads"], "4 of 32 (q is 128 wide)");
  EXPECT_EQ(gemma["kv heads"], "2");
  EXPECT_EQ(gemma["feed-forward"], "160, GELU (tanh) gate");
  EXPECT_EQ(gemma["rope"], "NEOX pairs, base 1e+06 (local layers 10000)");
  EXPECT_EQ(gemma["block"],
            "per-head q/k RMSNorm, post-attention and post-FFN norms, embeddings scaled by "
            "sqrt(embedding)");
  auto qwen3 = facts_of(dir / "arch" / "qwen3-f32.gguf");
  EXPECT_EQ(qwen3["layers"], "2");
  EXPECT_EQ(qwen3["block"], "per-head q/k RMSNorm");
  auto qwen2 = facts_of(dir / "models" / "qwen2-f32.gguf");
  EXPECT_EQ(qwen2["heads"], "4 of 16");
  EXPECT_EQ(qwen2["block"], "q/k/v biases");
  EXPECT_EQ(facts_of(dir / "models" / "mixtral-f32.gguf")["feed-forward"],
            "128 per expert, 2 of 4 experts, SiLU gate");
  test::TempDir tmp;
  auto md = llama_metadata("mamba");
  const fs::path mamba = tmp.path() / "m.gguf";
  write_file(mamba, md);
  EXPECT_NE(facts_of(mamba)["architecture"].find("hearth does not run it"), std::string::npos);
}

// Metadata of a small gemma3 model: heads of 64 (wider than n_embd / n_head = 32).
std::map<std::string, Value> gemma3_metadata() {
  auto md = llama_metadata("gemma3");
  md["gemma3.block_count"] = Value::of_u32(8);
  md["gemma3.attention.key_length"] = Value::of_u32(64);
  md["gemma3.attention.value_length"] = Value::of_u32(64);
  md["gemma3.attention.sliding_window"] = Value::of_u32(512);
  return md;
}

TEST(Describe, SlidingWindowPatternAsAPeriodFlagsOrDefault) {
  test::TempDir dir;
  // No pattern key (newer Gemma 3 files): five local layers, then a global one.
  auto md = gemma3_metadata();
  Hparams hp = describe(write_file(dir.path() / "a.gguf", md));
  EXPECT_EQ(hp.head_dim, 64);
  EXPECT_EQ(hp.n_swa, 512);
  EXPECT_EQ(hp.swa_layers, (std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 1, 1}));
  EXPECT_EQ(hp.n_layer_swa(), 7);
  EXPECT_FLOAT_EQ(hp.rope_base_swa, 10000.f);
  EXPECT_FALSE(hp.sliding(5));
  EXPECT_TRUE(hp.sliding(6));
  // A period.
  md["gemma3.attention.sliding_window_pattern"] = Value::of_u32(4);
  md["gemma3.rope.freq_base_swa"] = Value::of_f32(20000.f);
  hp = describe(write_file(dir.path() / "b.gguf", md));
  EXPECT_EQ(hp.swa_layers, (std::vector<uint8_t>{1, 1, 1, 0, 1, 1, 1, 0}));
  EXPECT_FLOAT_EQ(hp.rope_base_swa, 20000.f);
  // One flag per layer.
  std::vector<Value> flags;
  for (int il = 0; il < 8; ++il) flags.push_back(Value::of_bool(il % 2 == 0));
  md["gemma3.attention.sliding_window_pattern"] =
      Value::of_array(gguf::ValueType::boolean, std::move(flags));
  hp = describe(write_file(dir.path() / "c.gguf", md));
  EXPECT_EQ(hp.swa_layers, (std::vector<uint8_t>{1, 0, 1, 0, 1, 0, 1, 0}));
  EXPECT_EQ(describe(write_file(dir.path() / "c.gguf", md), DescribeMode::as_stored).swa_layers,
            hp.swa_layers);
  // Flags for the wrong number of layers, and a missing window, are named.
  md["gemma3.attention.sliding_window_pattern"] =
      Value::of_array(gguf::ValueType::boolean, {Value::of_bool(true)});
  const gguf::File short_flags = write_file(dir.path() / "d.gguf", md);
  expect_error([&] { describe(short_flags); }, ErrorKind::corrupt_file,
               {"gemma3.attention.sliding_window_pattern", "one flag per layer (8)"});
  EXPECT_EQ(describe(short_flags, DescribeMode::as_stored).n_swa, 0);
  md = gemma3_metadata();
  md.erase("gemma3.attention.sliding_window");
  expect_error([&] { describe(write_file(dir.path() / "e.gguf", md)); }, ErrorKind::corrupt_file,
               {"gemma3.attention.sliding_window is missing"});
  // K and V of different sizes are refused, naming both.
  md = gemma3_metadata();
  md["gemma3.attention.value_length"] = Value::of_u32(32);
  expect_error([&] { describe(write_file(dir.path() / "f.gguf", md)); }, ErrorKind::unsupported,
               {"gemma3.attention.value_length (32)", "key length (64)"});
}

// Gemma 3 27B (62 layers) scales queries by 1/sqrt(n_embd / n_head), the others by
// 1/sqrt(head_dim).
TEST(Describe, GemmaAttentionScale) {
  test::TempDir dir;
  auto md = gemma3_metadata();
  EXPECT_FLOAT_EQ(describe(write_file(dir.path() / "a.gguf", md)).attention_scale(),
                  1.0f / std::sqrt(64.0f));
  md["gemma3.block_count"] = Value::of_u32(62);
  md["gemma3.embedding_length"] = Value::of_u32(1344);  // n_embd / n_head = 168
  EXPECT_FLOAT_EQ(describe(write_file(dir.path() / "b.gguf", md)).attention_scale(),
                  1.0f / std::sqrt(168.0f));
}

// Linear RoPE scaling (Gemma 3 4B and larger): positions scaled by 1/factor in global layers.
TEST(Describe, LinearRopeScaling) {
  test::TempDir dir;
  auto md = gemma3_metadata();
  EXPECT_EQ(describe(write_file(dir.path() / "a.gguf", md)).rope_freq_scale, 1.0f);
  md["gemma3.rope.scaling.type"] = Value::of_string("linear");
  md["gemma3.rope.scaling.factor"] = Value::of_f32(8.0f);
  const Hparams hp = describe(write_file(dir.path() / "b.gguf", md));
  EXPECT_EQ(hp.rope_freq_scale, 0.125f);
  EXPECT_EQ(describe(write_file(dir.path() / "b.gguf", md), DescribeMode::as_stored).rope_freq_scale,
            0.125f);
  // Written back by shape_metadata().
  std::map<std::string, Value> back = {{"general.architecture", Value::of_string("gemma3")}};
  for (const auto& [key, value] : shape_metadata(hp)) back.emplace(key, value);
  EXPECT_EQ(describe(write_file(dir.path() / "c.gguf", back)).rope_freq_scale, 0.125f);
  // Another kind of scaling is not applied.
  md["gemma3.rope.scaling.type"] = Value::of_string("yarn");
  EXPECT_EQ(describe(write_file(dir.path() / "d.gguf", md)).rope_freq_scale, 1.0f);
}

// A writer's gemma3 shape (key length, window, per-layer flags, local RoPE base) reads back.
TEST(Describe, SlidingWindowShapeReadsBack) {
  Hparams hp;
  hp.arch = "gemma3";
  hp.rope_style = RopeStyle::neox;
  hp.n_ctx_train = 4096;
  hp.n_embd = 128;
  hp.n_layer = 4;
  hp.n_ff = 256;
  hp.n_head = 4;
  hp.n_head_kv = 1;
  hp.head_dim = 64;
  hp.n_swa = 16;
  hp.swa_layers = {1, 0, 1, 1};
  hp.rope_base_swa = 12345.f;
  std::map<std::string, Value> md = {{"general.architecture", Value::of_string("gemma3")}};
  for (const auto& [key, value] : shape_metadata(hp)) md.emplace(key, value);
  md["gemma3.attention.layer_norm_rms_epsilon"] = Value::of_f32(1e-6f);
  test::TempDir dir;
  const Hparams back = describe(write_file(dir.path() / "m.gguf", md));
  EXPECT_EQ(back.head_dim, 64);
  EXPECT_EQ(back.n_swa, 16);
  EXPECT_EQ(back.swa_layers, hp.swa_layers);
  EXPECT_EQ(back.rope_base_swa, hp.rope_base_swa);
}

}  // namespace
}  // namespace hearth::model
