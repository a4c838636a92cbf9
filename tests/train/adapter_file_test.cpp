// Adapters as llama.cpp's GGUF files: what is written reads back the same (and reads the
// conformance pack's adapters), and files that are not a well-formed adapter are refused with
// the tensor named.
#include <gtest/gtest.h>

#include "engine/gguf/gguf.h"
#include "support/test_support.h"
#include "train/adapter_file.h"

namespace hearth::train::test {
namespace {

using hearth::test::expect_error;

LoraAdapter sample() {
  LoraAdapter a;
  a.arch = "llama";
  a.alpha = 8.0f;
  LoraWeight p;
  p.base = "blk.0.attn_q.weight";
  p.n_in = 4;
  p.n_out = 3;
  p.rank = 2;
  p.a = {1, 2, 3, 4, 5, 6, 7, 8};
  p.b = {-1, -2, -3, -4, -5, -6};
  a.weights.push_back(p);
  p.base = "blk.1.ffn_down.weight";
  p.b = {0.5f, 0.25f, 0.125f, 1, 2, 3};
  a.weights.push_back(p);
  return a;
}

TEST(AdapterFile, WritesLlamaCppLayoutAndReadsItBack) {
  hearth::test::TempDir dir;
  const auto path = dir.path() / "a.gguf";
  write_adapter(sample(), path);

  const gguf::File file = gguf::File::open(path);
  EXPECT_EQ(file.get_string("general.architecture"), "llama");
  EXPECT_EQ(file.get_string("general.type"), "adapter");
  EXPECT_EQ(file.get_string("adapter.type"), "lora");
  EXPECT_EQ(file.find("adapter.lora.alpha")->type, gguf::ValueType::f32);
  const gguf::TensorInfo* a = file.find_tensor("blk.0.attn_q.weight.lora_a");
  const gguf::TensorInfo* b = file.find_tensor("blk.0.attn_q.weight.lora_b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->ne, (std::vector<int64_t>{4, 2}));  // [n_in, r]
  EXPECT_EQ(b->ne, (std::vector<int64_t>{2, 3}));  // [r, n_out]

  const LoraAdapter back = read_adapter(path);
  const LoraAdapter want = sample();
  EXPECT_EQ(back.arch, want.arch);
  EXPECT_EQ(back.alpha, want.alpha);
  ASSERT_EQ(back.weights.size(), want.weights.size());
  for (size_t i = 0; i < want.weights.size(); ++i) {
    EXPECT_EQ(back.weights[i].base, want.weights[i].base);
    EXPECT_EQ(back.weights[i].n_in, 4);
    EXPECT_EQ(back.weights[i].n_out, 3);
    EXPECT_EQ(back.weights[i].rank, 2);
    EXPECT_EQ(back.weights[i].a, want.weights[i].a);
    EXPECT_EQ(back.weights[i].b, want.weights[i].b);
  }
}

TEST(AdapterFile, ReadsTheConformanceAdapters) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const LoraAdapter a = read_adapter(dir / "train" / "qwen2-f32.init-lora.gguf");
  EXPECT_EQ(a.arch, "qwen2");
  EXPECT_EQ(a.alpha, 16.0f);
  ASSERT_EQ(a.weights.size(), 4u);
  EXPECT_EQ(a.weights[0].base, "blk.0.attn_q.weight");
  EXPECT_EQ(a.weights[0].n_in, 64);
}

// Writes a file with the given metadata and F32 tensors (name, ne).
void write_raw(const std::filesystem::path& path, bool adapter_keys, bool alpha,
               const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
  static std::vector<float> zeros(64, 0.0f);
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::of_string("llama"));
  if (adapter_keys) {
    w.set("general.type", gguf::Value::of_string("adapter"));
    w.set("adapter.type", gguf::Value::of_string("lora"));
  }
  if (alpha) w.set("adapter.lora.alpha", gguf::Value::of_f32(4));
  for (const auto& [name, ne] : tensors)
    w.add_tensor(name, gguf::TensorType::f32, ne,
                 {reinterpret_cast<const uint8_t*>(zeros.data()),
                  static_cast<size_t>(ne[0] * ne[1]) * sizeof(float)});
  w.write(path);
}

TEST(AdapterFile, RefusesWhatIsNotAWellFormedAdapter) {
  hearth::test::TempDir dir;
  const auto path = dir.path() / "bad.gguf";
  const std::vector<std::pair<std::string, std::vector<int64_t>>> good = {
      {"blk.0.attn_q.weight.lora_a", {4, 2}}, {"blk.0.attn_q.weight.lora_b", {2, 3}}};

  // The format's one reader (engine/model/lora.h) checks the file.
  write_raw(path, false, true, good);
  expect_error([&] { read_adapter(path); }, ErrorKind::invalid_input,
               {"is not a LoRA adapter", "general.type is missing"});
  write_raw(path, true, false, good);
  expect_error([&] { read_adapter(path); }, ErrorKind::corrupt_file, {"adapter.lora.alpha"});
  write_raw(path, true, true, {good[0]});
  expect_error([&] { read_adapter(path); }, ErrorKind::corrupt_file,
               {"'blk.0.attn_q.weight.lora_a' has no 'blk.0.attn_q.weight.lora_b'"});
  write_raw(path, true, true, {good[0], {"blk.0.attn_q.weight.lora_b", {3, 3}}});
  expect_error([&] { read_adapter(path); }, ErrorKind::corrupt_file,
               {"blk.0.attn_q.weight", "differ"});
  write_raw(path, true, true, {good[0], good[1], {"blk.0.attn_q.weight.extra", {4, 2}}});
  expect_error([&] { read_adapter(path); }, ErrorKind::corrupt_file,
               {"'blk.0.attn_q.weight.extra' is neither"});
}

}  // namespace
}  // namespace hearth::train::test
