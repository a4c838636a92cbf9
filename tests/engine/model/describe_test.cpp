// describe(): a model's shape from its GGUF metadata, the one reading the loader, the quantizer,
// synth, the fit check and `hearth show` share. The loader's shape and describe()'s agree on every
// conformance model; missing keys and unknown architectures are named in the errors.
#include <gtest/gtest.h>

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
  EXPECT_EQ(architecture_names(), "llama, qwen2, phi3");
  ASSERT_NE(find_arch("qwen2"), nullptr);
  EXPECT_TRUE(find_arch("qwen2")->qkv_bias);
  EXPECT_EQ(find_arch("phi3")->qkv, QkvLayout::fused);
  EXPECT_EQ(find_arch("gemma3"), nullptr);
  EXPECT_EQ(metadata_key("qwen2", keys::kHeadCountKv), "qwen2.attention.head_count_kv");
  EXPECT_EQ(layer_tensor(7, tensors::kFfnDown), "blk.7.ffn_down.weight");
}

// The loader's shape is describe()'s, for every architecture of the conformance models.
TEST(Describe, MatchesTheLoadedConformanceModels) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* name : {"llama-gqa-f32", "llama3-f16", "mixtral-f32", "phi3-f32", "qwen2-f32"}) {
    SCOPED_TRACE(name);
    const fs::path path = dir / "models" / (std::string(name) + ".gguf");
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
    const Hparams s = describe(file, DescribeMode::as_stored);
    EXPECT_EQ(s.n_layer, m.n_layer);
    EXPECT_EQ(s.n_head_kv, m.n_head_kv);
    EXPECT_EQ(s.head_dim, m.head_dim);
    EXPECT_EQ(s.n_expert, m.n_expert);
  }
  // A file of an architecture hearth does not run yet names it.
  const fs::path gemma = dir / "arch" / "gemma3-f32.gguf";
  if (fs::exists(gemma)) {
    expect_error([&] { describe(gguf::File::open(gemma)); }, ErrorKind::unsupported,
                 {"'gemma3'"});
  }
}

}  // namespace
}  // namespace hearth::model
