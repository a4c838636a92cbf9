// Context::embed (mean-pooled, normalised final hidden states) and batch-invariant decoding
// (ContextOptions::batch_invariant: a sequence's logits do not depend on what shares its batch).
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "engine/model/context.h"
#include "support/test_support.h"

namespace hearth::model {
namespace {

std::shared_ptr<const Model> load(const std::string& name) {
  auto dir = hearth::test::conformance_dir();
  return Model::load(*dir / "models" / name);
}

std::vector<int32_t> tokens_of(const Model& m, const std::string& text) {
  return m.tokenizer().encode(text, /*add_special=*/true, /*parse_special=*/false);
}

ContextOptions opts(int n_ctx, int n_seq, bool invariant, ThreadPool* pool) {
  ContextOptions o;
  o.n_ctx = n_ctx;
  o.n_seq_max = n_seq;
  o.matmul = kernels::default_matmul_options(pool);
  o.batch_invariant = invariant;
  return o;
}

TEST(Embed, FiniteNormalisedDeterministicAndDistinct) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = load("llama-gqa-f32.gguf");
  ThreadPool pool(2);
  Context ctx(model, opts(256, 2, true, &pool));
  const auto a = ctx.embed(tokens_of(*model, "the quick brown fox"), 1);
  EXPECT_EQ(ctx.n_cells_used(), 0) << "the scratch sequence is removed";
  ASSERT_EQ(a.size(), static_cast<size_t>(model->hparams().n_embd));
  double norm2 = 0;
  for (float v : a) {
    ASSERT_TRUE(std::isfinite(v));
    norm2 += static_cast<double>(v) * v;
  }
  EXPECT_NEAR(norm2, 1.0, 1e-5);
  EXPECT_EQ(a, ctx.embed(tokens_of(*model, "the quick brown fox"), 0));
  const auto b = ctx.embed(tokens_of(*model, "def main(): return 1"), 1);
  double dot = 0;
  for (size_t i = 0; i < a.size(); ++i) dot += static_cast<double>(a[i]) * b[i];
  EXPECT_LT(dot, 0.9999);
}

TEST(Embed, OneTokenHiddenStateGivesTheLogits) {
  // For one token, embed() is the normalised hidden state h/|h|; the logits are W·h. So W·e
  // must be the logits scaled by one positive factor.
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = load("llama-gqa-f32.gguf");
  ContextOptions o;
  o.n_ctx = 16;
  Context ctx(model, o);  // reference kernels, exact F32
  const std::vector<int32_t> tok = {1};
  const auto e = ctx.embed(tok, 0);
  const BatchEntry entry{1, 0, 0, true};
  const Logits logits = ctx.decode(std::span(&entry, 1));
  const auto& w = model->weights().output;
  std::vector<float> row(static_cast<size_t>(w.n_in)), d(static_cast<size_t>(w.n_out));
  for (int64_t r = 0; r < w.n_out; ++r) {
    kernels::dequantize_row(w, r, row.data());
    double s = 0;
    for (int64_t c = 0; c < w.n_in; ++c) s += static_cast<double>(row[c]) * e[c];
    d[r] = static_cast<float>(s);
  }
  double num = 0, den = 0;
  for (size_t i = 0; i < d.size(); ++i)
    num += static_cast<double>(logits[0][i]) * d[i], den += d[i] * d[i];
  const double scale = num / den;
  ASSERT_GT(scale, 0);
  for (size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(logits[0][i], scale * d[i], 1e-3) << i;
}

TEST(Embed, RejectsEmptyAndBusySequences) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto model = load("llama-gqa-f32.gguf");
  Context ctx(model, opts(64, 2, false, nullptr));
  EXPECT_THROW(ctx.embed({}, 0), Error);
  const BatchEntry entry{1, 0, 0, true};
  ctx.decode(std::span(&entry, 1));
  EXPECT_THROW(ctx.embed(std::vector<int32_t>{1, 2}, 0), Error);
  EXPECT_EQ(ctx.n_past(0), 1) << "a refused embed leaves the sequence alone";
}

// Sequence 0 decodes a prompt and then 4 tokens one at a time, alone or with company in the same
// batches: sequence 1's prompt in chunks of 2-5 tokens, sequence 2's tokens one at a time. With
// batch_invariant the logits are identical bit for bit.
std::vector<std::vector<float>> run_seq0(const std::string& model_name, bool invariant,
                                         bool with_company) {
  auto model = load(model_name);
  ThreadPool pool(2);
  Context ctx(model, opts(256, 3, invariant, &pool));
  const auto p0 = tokens_of(*model, "hello world, how are you today");
  const auto p1 = tokens_of(*model, "import numpy as np\nfor i in range(10): print(i)");
  std::vector<std::vector<float>> out;
  std::vector<BatchEntry> batch;
  for (size_t i = 0; i < p0.size(); ++i)
    batch.push_back({p0[i], static_cast<int>(i), 0, i + 1 == p0.size()});
  if (with_company) batch.push_back({p1[0], 0, 2, true});
  Logits l = ctx.decode(batch);
  int pos = static_cast<int>(p0.size());
  size_t next1 = 0;
  for (int step = 0; step < 4; ++step) {
    out.emplace_back(l[0].begin(), l[0].end());
    const int32_t tok = 300 + step * 7;  // fixed tokens: only the numerics are compared
    batch.clear();
    batch.push_back({tok, pos++, 0, true});
    if (with_company) {
      for (int k = 0; k < step + 2 && next1 < p1.size(); ++k, ++next1)
        batch.push_back({p1[next1], static_cast<int>(next1), 1, false});
      batch.push_back({p1[step + 1], step + 1, 2, true});
    }
    l = ctx.decode(batch);
  }
  out.emplace_back(l[0].begin(), l[0].end());
  return out;
}

TEST(BatchInvariance, LogitsDoNotDependOnBatchCompanions) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const char* name : {"llama-gqa-f32.gguf", "quant-base-q4_k_m.gguf", "quant-base-q8_0.gguf",
                           "mixtral-f32.gguf"}) {
    const auto alone = run_seq0(name, true, false);
    const auto batched = run_seq0(name, true, true);
    EXPECT_EQ(alone, batched) << name;
    // Without the option the GEMM path (≥ 4 tokens) sums in another order than vec_dot; report
    // how far apart the two get, for the record.
    const auto alone_plain = run_seq0(name, false, false);
    const auto batched_plain = run_seq0(name, false, true);
    float diff = 0;
    for (size_t s = 0; s < alone_plain.size(); ++s)
      for (size_t i = 0; i < alone_plain[s].size(); ++i)
        diff = std::max(diff, std::fabs(alone_plain[s][i] - batched_plain[s][i]));
    std::printf("%s: max |logit difference| alone vs batched without batch_invariant: %g\n", name,
                static_cast<double>(diff));
  }
}

}  // namespace
}  // namespace hearth::model
