// Loading errors (files made wrong in one way from a conformance model), batch and context
// errors, sequences and the KV cache, and the architecture details each conformance model uses.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/model/context.h"
#include "engine/model/ops.h"
#include "support/test_support.h"

namespace hearth::model {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

// P1 of the conformance references, tokenized with BOS.
const std::vector<int32_t> kP1 = {1,   612, 580, 956, 420, 716, 687,
                                  696, 701, 622, 264, 704, 693, 912};

// Writes a copy of `src` to `out`. `edit` sees each tensor's name and shape and may change the
// shape (keeping the byte size) or return false to leave the tensor out; `meta` may change keys.
void write_variant(const fs::path& src, const fs::path& out,
                   const std::function<bool(const std::string&, std::vector<int64_t>&)>& edit,
                   const std::function<void(gguf::Writer&)>& meta = {}) {
  const gguf::File file = gguf::File::open(src);
  gguf::Writer w;
  for (const auto& [key, value] : file.metadata()) w.set(key, value);
  if (meta) meta(w);
  for (const gguf::TensorInfo& t : file.tensors()) {
    std::vector<int64_t> ne = t.ne;
    if (edit(t.name, ne)) w.add_tensor(t.name, t.type, ne, file.tensor_data(t));
  }
  w.write(out);
}


std::vector<BatchEntry> prompt_batch(const std::vector<int32_t>& tokens, int seq, bool all_logits) {
  std::vector<BatchEntry> b;
  for (size_t i = 0; i < tokens.size(); ++i)
    b.push_back({tokens[i], static_cast<int>(i), seq, all_logits || i + 1 == tokens.size()});
  return b;
}

ContextOptions options(int n_ctx, int n_seq_max = 1, KvType kv_type = KvType::f32) {
  ContextOptions o;
  o.n_ctx = n_ctx;
  o.n_seq_max = n_seq_max;
  o.kv_type = kv_type;
  return o;
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(ModelLoad, MissingTensorIsNamed) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const fs::path out = tmp.path() / "missing.gguf";
  write_variant(
      dir / "models" / "llama-gqa-f32.gguf", out,
      [](const std::string& name, std::vector<int64_t>&) { return name != "blk.1.ffn_up.weight"; });
  expect_error([&] { Model::load(out); }, ErrorKind::corrupt_file,
               {"missing.gguf", "blk.1.ffn_up.weight", "missing", "[64, 160]"});
}

TEST(ModelLoad, WrongShapeNamesBothShapes) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const fs::path out = tmp.path() / "shape.gguf";
  write_variant(dir / "models" / "llama-gqa-f32.gguf", out,
                [](const std::string& name, std::vector<int64_t>& ne) {
                  if (name == "blk.0.attn_k.weight") ne = {32, 64};
                  return true;
                });
  expect_error([&] { Model::load(out); }, ErrorKind::corrupt_file,
               {"blk.0.attn_k.weight", "[32, 64]", "expected [64, 32]"});
}

TEST(ModelLoad, UnsupportedArchitectureListsSupported) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const fs::path out = tmp.path() / "arch.gguf";
  write_variant(
      dir / "models" / "llama-gqa-f32.gguf", out,
      [](const std::string&, std::vector<int64_t>&) { return true; },
      [](gguf::Writer& w) { w.set("general.architecture", gguf::Value::of_string("gptj")); });
  expect_error([&] { Model::load(out); }, ErrorKind::unsupported,
               {"'gptj'", "llama", "qwen2", "phi3"});
}

TEST(ModelLoad, MissingMetadataKeyIsNamed) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir tmp;
  const fs::path src = dir / "models" / "llama-gqa-f32.gguf";
  const fs::path out = tmp.path() / "keys.gguf";
  const gguf::File file = gguf::File::open(src);
  gguf::Writer w;
  for (const auto& [key, value] : file.metadata())
    if (key != "llama.attention.head_count") w.set(key, value);
  for (const gguf::TensorInfo& t : file.tensors())
    w.add_tensor(t.name, t.type, t.ne, file.tensor_data(t));
  w.write(out);
  expect_error([&] { Model::load(out); }, ErrorKind::corrupt_file,
               {"llama.attention.head_count", "missing"});
}

TEST(ModelLoad, ArchitectureDetails) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const fs::path models = dir / "models";
  const auto llama3 = Model::load(models / "llama3-f16.gguf");
  EXPECT_EQ(llama3->hparams().head_dim, 8);
  EXPECT_EQ(llama3->hparams().n_head_kv, 2);
  ASSERT_EQ(llama3->weights().rope_freqs.size(), 4u);
  EXPECT_FLOAT_EQ(llama3->weights().rope_freqs[3], 8.0f);
  EXPECT_EQ(llama3->weights().output.data, llama3->weights().token_embd.data);  // tied

  const auto mixtral = Model::load(models / "mixtral-f32.gguf");
  EXPECT_EQ(mixtral->hparams().n_expert, 4);
  EXPECT_EQ(mixtral->hparams().n_expert_used, 2);
  EXPECT_TRUE(mixtral->weights().layers[0].is_moe());
  EXPECT_EQ(mixtral->weights().layers[0].expert_down.size(), 4u);

  const auto qwen2 = Model::load(models / "qwen2-f32.gguf");
  EXPECT_EQ(qwen2->hparams().rope_style, RopeStyle::neox);
  EXPECT_EQ(qwen2->weights().layers[1].bk.size(), 32u);
  EXPECT_FLOAT_EQ(qwen2->hparams().rms_eps, 1e-6f);

  const auto phi3 = Model::load(models / "phi3-f32.gguf");
  EXPECT_EQ(phi3->weights().layers[0].wqkv.n_out, 96 + 2 * 96);
  EXPECT_TRUE(phi3->weights().layers[0].gate_up_fused);
  EXPECT_EQ(phi3->weights().layers[0].ffn_up.n_out, 512);
}

TEST(RopeAngles, FloatRecipeMatchesTheFormula) {
  std::vector<float> c(8), s(8);
  rope_angles(0, 16, 10000.0f, {}, c.data(), s.data());
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(c[i], 1.0f);
    EXPECT_EQ(s[i], 0.0f);
  }
  const std::vector<float> div = {1, 1, 2, 8, 1, 1, 1, 1};
  rope_angles(100, 16, 10000.0f, div, c.data(), s.data());
  for (int i = 0; i < 8; ++i) {
    const double angle = 100.0 * std::pow(10000.0, -2.0 * i / 16) / div[i];
    EXPECT_NEAR(c[i], std::cos(angle), 1e-5) << i;
    EXPECT_NEAR(s[i], std::sin(angle), 1e-5) << i;
  }
}

TEST(RopeAngles, LinearScalingScalesThePosition) {
  std::vector<float> c(8), s(8);
  rope_angles(100, 16, 10000.0f, {}, c.data(), s.data(), 0.125f);
  for (int i = 0; i < 8; ++i) {
    const double angle = 12.5 * std::pow(10000.0, -2.0 * i / 16);
    EXPECT_NEAR(c[i], std::cos(angle), 1e-5) << i;
    EXPECT_NEAR(s[i], std::sin(angle), 1e-5) << i;
  }
}

class ContextTest : public testing::Test {
 protected:
  void SetUp() override {
    auto d = hearth::test::conformance_dir();
    if (!d) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    model_ = Model::load(*d / "models" / "llama-gqa-f32.gguf");
  }
  std::shared_ptr<const Model> model_;
};

TEST_F(ContextTest, PromptLongerThanContextIsRejected) {
  Context ctx(model_, options(8));
  expect_error([&] { ctx.decode(prompt_batch(kP1, 0, false)); }, ErrorKind::invalid_input,
               {"longer than the context", "n_ctx = 8"});
  EXPECT_EQ(ctx.n_cells_used(), 0);  // nothing changed
  EXPECT_EQ(ctx.n_past(0), 0);
  // Filling the context exactly works; one more position does not.
  const std::vector<int32_t> first(kP1.begin(), kP1.begin() + 8);
  EXPECT_EQ(ctx.decode(prompt_batch(first, 0, false)).size(), 1u);
  const BatchEntry next{kP1[8], 8, 0, true};
  expect_error([&] { ctx.decode(std::span(&next, 1)); }, ErrorKind::invalid_input,
               {"longer than the context"});
  EXPECT_EQ(ctx.n_past(0), 8);
}

TEST_F(ContextTest, InvalidBatchEntriesAreRejected) {
  Context ctx(model_, options(64, 2));
  const std::vector<std::pair<BatchEntry, std::string>> bad = {
      {{1000, 0, 0, true}, "outside the vocabulary"},
      {{-1, 0, 0, true}, "outside the vocabulary"},
      {{1, 0, 2, true}, "sequence id 2"},
      {{1, -1, 0, true}, "negative"},
  };
  for (const auto& [entry, fragment] : bad)
    expect_error([&] { ctx.decode(std::span(&entry, 1)); }, ErrorKind::invalid_input, {fragment});
  const std::vector<BatchEntry> twice = {{1, 0, 0, false}, {612, 0, 0, true}};
  expect_error([&] { ctx.decode(twice); }, ErrorKind::invalid_input, {"twice"});
  EXPECT_EQ(ctx.n_cells_used(), 0);
  expect_error([&] { Context(model_, options(0)); }, ErrorKind::invalid_input, {"n_ctx"});
}

TEST_F(ContextTest, RemovingASequenceFreesItsCells) {
  Context ctx(model_, options(20, 2));
  ctx.decode(prompt_batch(kP1, 0, false));
  EXPECT_EQ(ctx.n_cells_used(), 14);
  EXPECT_EQ(ctx.n_past(0), 14);
  // Sequence 1 does not fit beside sequence 0 ...
  expect_error([&] { ctx.decode(prompt_batch(kP1, 1, false)); }, ErrorKind::invalid_input,
               {"context is full"});
  EXPECT_EQ(ctx.n_cells_used(), 14);
  // ... until sequence 0 is removed.
  ctx.remove_sequence(0);
  EXPECT_EQ(ctx.n_cells_used(), 0);
  EXPECT_EQ(ctx.n_past(0), 0);
  const Logits reused = ctx.decode(prompt_batch(kP1, 1, false));
  EXPECT_EQ(ctx.n_cells_used(), 14);
  EXPECT_EQ(ctx.n_past(1), 14);
  // The reused cells hold nothing of the removed sequence.
  Context fresh(model_, options(20));
  const Logits alone = fresh.decode(prompt_batch(kP1, 0, false));
  EXPECT_EQ(max_abs_diff(reused[0], alone[0]), 0.0f);
  ctx.remove_sequence(7);  // unknown: no-op
  EXPECT_EQ(ctx.n_cells_used(), 14);
}

TEST_F(ContextTest, BatchOrderDoesNotMatter) {
  Context a(model_, options(32));
  const Logits forward = a.decode(prompt_batch(kP1, 0, true));
  std::vector<BatchEntry> reversed = prompt_batch(kP1, 0, true);
  std::reverse(reversed.begin(), reversed.end());
  Context b(model_, options(32));
  const Logits backward = b.decode(reversed);
  ASSERT_EQ(backward.size(), kP1.size());
  for (size_t i = 0; i < kP1.size(); ++i)
    EXPECT_LE(max_abs_diff(forward[i], backward[kP1.size() - 1 - i]), 1e-5f) << i;
}

TEST_F(ContextTest, RedecodingAPositionReplacesIt) {
  Context ctx(model_, options(32));
  ctx.decode(prompt_batch(kP1, 0, false));
  // Overwrite the last token with another one, then with the original again.
  const BatchEntry other{600, 13, 0, true};
  ctx.decode(std::span(&other, 1));
  EXPECT_EQ(ctx.n_cells_used(), 14);
  const BatchEntry original{kP1[13], 13, 0, true};
  const Logits again = ctx.decode(std::span(&original, 1));
  Context fresh(model_, options(32));
  EXPECT_LE(max_abs_diff(again[0], fresh.decode(prompt_batch(kP1, 0, false))[0]), 1e-5f);
}

TEST_F(ContextTest, ThreadPoolGivesTheSameLogits) {
  ThreadPool pool(2);
  ContextOptions threaded = options(32);
  threaded.matmul.pool = &pool;
  Context a(model_, options(32));
  Context b(model_, threaded);
  const Logits x = a.decode(prompt_batch(kP1, 0, true));
  const Logits y = b.decode(prompt_batch(kP1, 0, true));
  for (size_t i = 0; i < kP1.size(); ++i) EXPECT_EQ(max_abs_diff(x[i], y[i]), 0.0f) << i;
}

TEST_F(ContextTest, F16CacheStaysClose) {
  Context f32(model_, options(32));
  Context f16(model_, options(32, 1, KvType::f16));
  const Logits a = f32.decode(prompt_batch(kP1, 0, false));
  const Logits b = f16.decode(prompt_batch(kP1, 0, false));
  const float d = max_abs_diff(a[0], b[0]);
  EXPECT_GT(d, 0.0f);  // the cache really rounds
  EXPECT_LT(d, 1e-2f);
}

TEST(KvCacheTypes, Q8_0CacheStaysCloseAndIsSmaller) {
  // quant-base has 64-value heads: each head's slice is two Q8_0 blocks.
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = Model::load(dir / "models" / "quant-base-f16.gguf");
  Context f32(model, options(64));
  Context q8(model, options(64, 1, KvType::q8_0));
  const Logits a = f32.decode(prompt_batch(kP1, 0, false));
  const Logits b = q8.decode(prompt_batch(kP1, 0, false));
  // Within 2% of the logits' range (8-bit codes with a scale per 32 values; this random model's
  // logits span tens of units).
  auto range = [](std::span<const float> x) {
    return *std::max_element(x.begin(), x.end()) - *std::min_element(x.begin(), x.end());
  };
  const float d = max_abs_diff(a[0], b[0]);
  EXPECT_GT(d, 0.0f);  // the cache really quantizes
  EXPECT_LT(d, 0.02f * range(a[0])) << range(a[0]);
  // Then one more token each (the decoding path reads the quantized rows too).
  const std::vector<BatchEntry> next = {{700, static_cast<int>(kP1.size()), 0, true}};
  const Logits c = f32.decode(next);
  EXPECT_LT(max_abs_diff(c[0], q8.decode(next)[0]), 0.02f * range(c[0])) << range(c[0]);
  // 34 bytes per 32 values against 128.
  EXPECT_EQ(q8.kv_cache().bytes() * 128, f32.kv_cache().bytes() * 34);
}

TEST(KvCacheTypes, Q8_0NeedsWholeBlocksPerHead) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = Model::load(dir / "models" / "llama-gqa-f32.gguf");
  expect_error([&] { Context c(model, options(32, 1, KvType::q8_0)); }, ErrorKind::invalid_input,
               {"q8_0", "head size (16)", "f16"});
}

TEST(KvCacheTypes, NamesRoundTripAndBadNamesAreRejected) {
  for (KvType t : {KvType::f32, KvType::f16, KvType::q8_0})
    EXPECT_EQ(kv_type_from_name(kv_type_name(t), "X"), t);
  expect_error([] { kv_type_from_name("q4_0", "HEARTH_KV_CACHE"); }, ErrorKind::invalid_input,
               {"HEARTH_KV_CACHE=q4_0", "f16", "q8_0", "f32"});
}

}  // namespace
}  // namespace hearth::model
