// The sliding-window KV cache (kv_cache.h): local layers keep only the last W positions of each
// sequence and reuse the cells beyond them; a batch larger than the pool's room grows it; a
// prefix whose window is gone is dropped whole, and a position whose keys are gone is refused.
// The conformance model gemma3-f32 (W = 8, layers 0 and 1 local) checks that the numbers do not
// depend on any of this.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"
#include "engine/model/context.h"
#include "support/test_support.h"

namespace hearth::model {
namespace {

namespace fs = std::filesystem;

TEST(KvCacheWindow, LocalCellsAreReusedBeyondTheWindow) {
  // Three layers, the first two local with a window of 4, 2000 cells, two sequences.
  KvCache kv(3, 2, 2000, KvType::f32, {1, 1, 0}, 4, 2);
  EXPECT_TRUE(kv.has_local_layers());
  EXPECT_EQ(kv.local_capacity(), 2 * 4 + KvCache::kLocalBatchCells);
  const float k[2] = {1, 2}, v[2] = {3, 4};
  for (int pos = 0; pos < 300; ++pos)
    for (int seq = 0; seq < 2; ++seq) {
      const KvCache::Cell c = kv.claim(seq, pos);
      ASSERT_GE(c.local, 0);
      for (int layer = 0; layer < 3; ++layer) kv.store(layer, c, k, v);
      kv.prune(seq);
    }
  EXPECT_EQ(kv.n_used(), 600);       // every token keeps its global cell
  EXPECT_EQ(kv.n_local_used(), 8);   // the local layers keep 4 positions per sequence
  EXPECT_EQ(kv.local_capacity(), 2 * 4 + KvCache::kLocalBatchCells);  // reused, never grown
  std::vector<int> cells, positions;
  EXPECT_EQ(kv.sequence_cells(1, 299, /*local=*/true, cells, positions), 4);
  EXPECT_EQ(positions, (std::vector<int>{296, 297, 298, 299}));
  EXPECT_EQ(kv.sequence_cells(1, 299, /*local=*/false, cells, positions), 300);
  // The next position and the last one again see their whole window; earlier ones do not.
  EXPECT_TRUE(kv.window_intact(0, 300));
  EXPECT_TRUE(kv.window_intact(0, 299));
  EXPECT_FALSE(kv.window_intact(0, 298));
  // Local rows are laid out cell by cell: one row per local layer.
  EXPECT_EQ(kv.row_stride(0), 2 * 2 * 4);  // bytes: two local layers of two F32 values
  EXPECT_EQ(kv.row_stride(2), 2 * 4);
  // A batch larger than the pool's room grows it.
  for (int pos = 300; pos < 300 + 600; ++pos) kv.claim(0, pos);
  EXPECT_GE(kv.local_capacity(), 4 + 600);
  EXPECT_LE(kv.local_capacity(), 2000);
  kv.prune(0);
  EXPECT_EQ(kv.n_local_used(), 8);
  kv.remove_sequence(0);
  kv.remove_sequence(1);
  EXPECT_EQ(kv.n_local_used(), 0);
  EXPECT_EQ(kv.n_used(), 0);
}

TEST(KvCacheWindow, ModelWithoutLocalLayersHasNoLocalPool) {
  KvCache kv(2, 4, 64, KvType::f16);
  EXPECT_FALSE(kv.has_local_layers());
  EXPECT_EQ(kv.local_capacity(), 0);
  EXPECT_EQ(kv.claim(0, 0).local, -1);
  EXPECT_TRUE(kv.window_intact(0, 0));
  EXPECT_EQ(kv.bytes(), 2u * 2 * 64 * 4 * sizeof(uint16_t));
}

std::shared_ptr<const Model> gemma(const fs::path& dir) {
  return Model::load(dir / "arch" / "gemma3-f32.gguf");
}

std::vector<int32_t> random_tokens(size_t n, int n_vocab) {
  std::mt19937 gen(11);
  std::uniform_int_distribution<int32_t> id(3, n_vocab - 1);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = id(gen);
  return t;
}

// Feeds tokens[from, to) to `seq` in batches of `chunk`; returns the last position's logits.
std::vector<float> feed(Context& ctx, const std::vector<int32_t>& tokens, size_t from, size_t to,
                        size_t chunk, int seq = 0) {
  std::vector<float> last;
  for (size_t start = from; start < to; start += chunk) {
    std::vector<BatchEntry> batch;
    for (size_t i = start; i < std::min(to, start + chunk); ++i)
      batch.push_back({tokens[i], static_cast<int32_t>(i), seq, i + 1 == std::min(to, start + chunk)});
    const Logits l = ctx.decode(batch);
    last.assign(l[0].begin(), l[0].end());
  }
  return last;
}

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

ContextOptions exact(int n_ctx) {
  ContextOptions o;
  o.n_ctx = n_ctx;
  o.matmul = {kernels::KernelSet::reference, kernels::Arithmetic::exact_f32, nullptr};
  return o;
}

// A long sequence through a window of 8: the local layers hold 8 cells, whatever the length, and
// the logits are those of one batch (which grew the pool past its room) within F32 noise.
TEST(SlidingWindowModel, KeepsOnlyTheWindowAndAgreesWithOneBatch) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = gemma(dir);
  ASSERT_EQ(model->hparams().n_swa, 8);
  const std::vector<int32_t> tokens = random_tokens(700, model->n_vocab());

  Context chunked(model, exact(1024));
  const std::vector<float> a = feed(chunked, tokens, 0, tokens.size(), 37);
  EXPECT_EQ(chunked.kv_cache().n_local_used(), 8);
  EXPECT_EQ(chunked.kv_cache().local_capacity(), 8 + KvCache::kLocalBatchCells);
  EXPECT_EQ(chunked.n_cells_used(), 700);

  Context whole(model, exact(1024));
  const std::vector<float> b = feed(whole, tokens, 0, tokens.size(), tokens.size());
  EXPECT_GE(whole.kv_cache().local_capacity(), 700);
  EXPECT_EQ(whole.kv_cache().n_local_used(), 8);
  EXPECT_LT(max_diff(a, b), 1e-4f);

  // The window's memory: one global layer of 1024 cells, two local layers of 520.
  EXPECT_EQ(chunked.kv_cache().bytes(), 2u * (1024 + 2 * 520) * 64 * sizeof(float));
}

// An F16 cache (the server's) reads the local pool's rows as the F32 one does, within F16
// rounding.
TEST(SlidingWindowModel, F16CacheAgreesWithF32) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = gemma(dir);
  const std::vector<int32_t> tokens = random_tokens(90, model->n_vocab());
  Context f32(model, exact(256));
  ContextOptions o = exact(256);
  o.kv_type = KvType::f16;
  Context f16(model, o);
  const float d = max_diff(feed(f32, tokens, 0, 90, 7), feed(f16, tokens, 0, 90, 7));
  EXPECT_LT(d, 0.05f);
  EXPECT_GT(d, 0.0f);  // the rows were rounded
  EXPECT_EQ(f16.kv_cache().n_local_used(), 8);
}

// Keeping a prefix: the last token may be decoded again (its window is kept); an earlier cut
// needs keys the local layers dropped, so the sequence is forgotten and decoded again from the
// start, giving the same logits. Decoding an old position in place is refused.
TEST(SlidingWindowModel, PrefixWithoutItsWindowIsDecodedAgain) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = gemma(dir);
  const std::vector<int32_t> tokens = random_tokens(60, model->n_vocab());
  Context ctx(model, exact(256));
  const std::vector<float> full = feed(ctx, tokens, 0, 60, 16);

  EXPECT_EQ(ctx.keep_prefix(0, 59), 59);
  EXPECT_LT(max_diff(feed(ctx, tokens, 59, 60, 1), full), 1e-5f);

  test::expect_error(
      [&] {
        const BatchEntry e{tokens[40], 40, 0, true};
        ctx.decode(std::span(&e, 1));
      },
      ErrorKind::invalid_input, {"position 40 of sequence 0", "sliding-window"});

  EXPECT_EQ(ctx.keep_prefix(0, 40), 0);
  EXPECT_EQ(ctx.n_past(0), 0);
  EXPECT_EQ(ctx.n_cells_used(), 0);
  EXPECT_LT(max_diff(feed(ctx, tokens, 0, 60, 60), full), 1e-4f);

  // Without local layers any prefix is kept.
  Context plain(Model::load(dir / "arch" / "qwen3-f32.gguf"), exact(256));
  feed(plain, tokens, 0, 60, 16);
  EXPECT_EQ(plain.keep_prefix(0, 40), 40);
  EXPECT_EQ(plain.n_past(0), 40);
}

}  // namespace
}  // namespace hearth::model
