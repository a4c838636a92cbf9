// GpuLayers, the per-batch half: the pass's shared data, then each range of layers recorded as
// forward.cpp computes it on the CPU, into one command buffer (gpu_layers.h).
#include <algorithm>

#include "core/error.h"
#include "engine/model/gpu_layers_impl.h"

namespace hearth::model {

namespace {

constexpr uint64_t kF = sizeof(float);

// The rows of a product and the LoRA masks that go with them: all T rows of the pass, or the
// rows that want logits.
struct Rows {
  int64_t n = 0;
  gpu::Span ones;
  const std::vector<GpuRowSet>* sets = nullptr;
};

}  // namespace

void GpuLayers::begin(const Pass& pass, int n_cells_local) {
  Impl& s = *impl_;
  const int64_t T = s.T = static_cast<int64_t>(pass.batch.size());
  const BatchPlan& plan = pass.plan;
  s.grow_local_cache(n_cells_local);

  // Host copies of what every range reads, packed into one device buffer below.
  struct KindData {
    std::vector<int32_t> store, cells, base, lo, hi;
  } kd[2];
  for (int k = 0; k < (plan.any_local ? 2 : 1); ++k) {
    std::map<int, int32_t> base;  // sequence -> where its list starts
    for (const auto& [seq, sc] : plan.seq_cells[k]) {
      base[seq] = static_cast<int32_t>(kd[k].cells.size());
      kd[k].cells.insert(kd[k].cells.end(), sc.cells.begin(), sc.cells.end());
    }
    for (int64_t t = 0; t < T; ++t) {
      const KvCache::Cell c = pass.cells[static_cast<size_t>(t)];
      kd[k].store.push_back(k ? c.local : c.global);
      kd[k].base.push_back(base.at(pass.batch[t].seq_id));
      kd[k].lo.push_back(plan.token_lo[k][static_cast<size_t>(t)]);
      kd[k].hi.push_back(plan.token_hi[k][static_cast<size_t>(t)]);
    }
  }
  const std::vector<float> ones(static_cast<size_t>(T), 1.0f);
  // LoRA row masks: per set of sequence adapters, 1 for its rows.
  std::vector<const LoraIndex*> sets;
  if (pass.row_lora != nullptr)
    for (int64_t t = 0; t < T; ++t)
      if (pass.row_lora[t] != nullptr &&
          std::find(sets.begin(), sets.end(), pass.row_lora[t]) == sets.end())
        sets.push_back(pass.row_lora[t]);
  std::vector<std::vector<float>> masks, out_masks;
  s.out_runs.clear();
  s.n_out = 0;
  for (int64_t t = 0; t < T; ++t)
    if (pass.batch[t].want_logits) {
      if (!s.out_runs.empty() && s.out_runs.back().first + s.out_runs.back().second == t)
        ++s.out_runs.back().second;
      else
        s.out_runs.emplace_back(t, 1);
      ++s.n_out;
    }
  for (const LoraIndex* set : sets) {
    std::vector<float>& m = masks.emplace_back();
    std::vector<float>& om = out_masks.emplace_back();
    for (int64_t t = 0; t < T; ++t) {
      m.push_back(pass.row_lora[t] == set ? 1.0f : 0.0f);
      if (pass.batch[t].want_logits) om.push_back(m.back());
    }
  }

  auto vec = [](GpuPacker& p, const auto& v) { return p.add(v.data(), v.size() * 4); };
  auto lay_out = [&](GpuPacker& p) {
    for (int k = 0; k < (plan.any_local ? 2 : 1); ++k) {
      Impl::Kind& g = s.kinds[k];
      g.cos = vec(p, k ? plan.cos_local : plan.cos);
      g.sin = vec(p, k ? plan.sin_local : plan.sin);
      g.store = vec(p, kd[k].store);
      g.cells = vec(p, kd[k].cells);
      g.base = vec(p, kd[k].base);
      g.lo = vec(p, kd[k].lo);
      g.hi = vec(p, kd[k].hi);
    }
    s.ones = vec(p, ones);
    s.out_ones = s.ones.at(0, static_cast<uint64_t>(std::max<int64_t>(s.n_out, 1)) * kF);
    s.row_sets.clear();
    s.out_sets.clear();
    for (size_t i = 0; i < sets.size(); ++i) {
      s.row_sets.push_back({sets[i], vec(p, masks[i])});
      s.out_sets.push_back({sets[i], vec(p, out_masks[i])});
    }
  };
  GpuPacker count;
  lay_out(count);
  GpuPacker place{s.need("batch", count.size).buffer};
  lay_out(place);
}

void GpuLayers::run(int first, int end, const Pass& pass, float* x) {
  Impl& s = *impl_;
  const Hparams& hp = s.model.hparams();
  const ModelWeights& mw = s.model.weights();
  const int64_t T = s.T;
  const int E = hp.n_embd, D = hp.head_dim, H = hp.n_head, Hkv = hp.n_head_kv, F = hp.n_ff;
  const int Q = hp.n_q_dim(), KV = hp.n_kv_dim();
  const float eps = hp.rms_eps;
  const gpu::Rope rope = hp.rope_style == RopeStyle::neox ? gpu::Rope::neox : gpu::Rope::normal;
  const bool output = end == hp.n_layer && s.output;

  const gpu::Span X = s.need("x", static_cast<uint64_t>(T * E) * kF);
  X.buffer->upload(x, X.bytes);
  const gpu::Span Hn = s.need("h", X.bytes);
  const gpu::Span P = s.need("proj", X.bytes);
  const gpu::Span Qs = s.need("q", static_cast<uint64_t>(T * Q) * kF);
  const gpu::Span Ks = s.need("k", static_cast<uint64_t>(T * KV) * kF);
  const gpu::Span Vs = s.need("v", Ks.bytes);
  const gpu::Span Att = s.need("att", Qs.bytes);

  gpu::Commands cmd(*s.device);
  const Rows all{T, s.ones, &s.row_sets};

  // W x plus the LoRA terms bound to W: the Context's on every row, each sequence set's on its
  // rows (mask), as Projector does on the CPU.
  auto project = [&](const WeightMatrix& w, const gpu::Matrix& gm, gpu::Span in, const Rows& rows,
                     gpu::Span y) {
    cmd.matmul(gm, in, rows.n, y);
    auto add_terms = [&](const std::vector<LoraTerm>& terms, gpu::Span mask) {
      for (const LoraTerm& term : terms) {
        const auto it = s.adapters.find(static_cast<const float*>(term.a.data));
        HEARTH_ASSERT(it != s.adapters.end(), "GpuLayers: an adapter that was not uploaded");
        const gpu::Span ax = s.need("lora_ax", static_cast<uint64_t>(rows.n * term.a.n_out) * kF);
        const gpu::Span bax = s.need("lora_bax", static_cast<uint64_t>(rows.n * term.b.n_out) * kF);
        cmd.matmul(it->second.a, in, rows.n, ax);
        cmd.matmul(it->second.b, ax, rows.n, bax);
        cmd.add_scaled_rows(y, bax, mask, rows.n, term.b.n_out, term.scale);
      }
    };
    if (const std::vector<LoraTerm>* terms = pass.lora.find(w)) add_terms(*terms, rows.ones);
    for (const GpuRowSet& rs : *rows.sets)
      if (const std::vector<LoraTerm>* terms = rs.set->find(w)) add_terms(*terms, rs.mask);
  };

  for (int il = first; il < end; ++il) {
    const LayerWeights& w = mw.layers[static_cast<size_t>(il)];
    GpuLayer& g = s.layers[static_cast<size_t>(il)];
    const Impl::Kind& kind = s.kinds[g.local ? 1 : 0];
    auto layer_project = [&](const WeightMatrix& m, gpu::Span in, gpu::Span y) {
      project(m, g.matrices.at(&m), in, all, y);
    };

    // Attention block.
    cmd.rmsnorm(X, g.attn_norm, Hn, T, E, eps);
    if (w.wqkv.data != nullptr) {
      const gpu::Span qkv = s.need("qkv", static_cast<uint64_t>(T * (Q + 2 * KV)) * kF);
      layer_project(w.wqkv, Hn, qkv);
      cmd.copy_rows(qkv, Q + 2 * KV, Qs, Q, T, Q);
      cmd.copy_rows(qkv.at(static_cast<uint64_t>(Q) * kF, qkv.bytes - Q * kF), Q + 2 * KV, Ks, KV,
                    T, KV);
      cmd.copy_rows(qkv.at(static_cast<uint64_t>(Q + KV) * kF, qkv.bytes - (Q + KV) * kF),
                    Q + 2 * KV, Vs, KV, T, KV);
    } else {
      layer_project(w.wq, Hn, Qs);
      layer_project(w.wk, Hn, Ks);
      layer_project(w.wv, Hn, Vs);
    }
    if (!w.bq.empty()) cmd.add_bias(Qs, g.bq, T, Q, Q);
    if (!w.bk.empty()) cmd.add_bias(Ks, g.bk, T, KV, KV);
    if (!w.bv.empty()) cmd.add_bias(Vs, g.bv, T, KV, KV);
    if (!w.q_norm.empty()) {
      cmd.rmsnorm(Qs, g.q_norm, Qs, T * H, D, eps);
      cmd.rmsnorm(Ks, g.k_norm, Ks, T * Hkv, D, eps);
    }
    cmd.rope(Qs, T, H, D, Q, rope, kind.cos, kind.sin);
    cmd.rope(Ks, T, Hkv, D, KV, rope, kind.cos, kind.sin);
    const gpu::Span k_cache{g.k.get(), 0, g.k->size()}, v_cache{g.v.get(), 0, g.v->size()};
    const auto row = static_cast<int64_t>(s.kv_row);
    cmd.kv_store(Ks, KV, kind.store, T, KV, k_cache, row, s.kv_type);
    cmd.kv_store(Vs, KV, kind.store, T, KV, v_cache, row, s.kv_type);
    cmd.attention(Qs, Att, T, H, Hkv, D, hp.attention_scale(), k_cache, v_cache, row, s.kv_type,
                  kind.cells, kind.base, kind.lo, kind.hi);
    layer_project(w.wo, Att, P);
    if (!w.attn_post_norm.empty()) cmd.rmsnorm(P, g.attn_post_norm, P, T, E, eps);
    cmd.add(X, P, X, T * E);

    // Feed-forward block.
    cmd.rmsnorm(X, g.ffn_norm, Hn, T, E, eps);
    if (w.is_moe()) {
      const int NE = hp.n_expert, K = hp.n_expert_used;
      const gpu::Span logits = s.need("router", static_cast<uint64_t>(T * NE) * kF);
      const gpu::Span ids = s.need("ids", static_cast<uint64_t>(T * K) * 4);
      const gpu::Span weights = s.need("weights", static_cast<uint64_t>(T * K) * kF);
      const gpu::Span gs = s.need("g", static_cast<uint64_t>(T * K * F) * kF);
      const gpu::Span us = s.need("u", gs.bytes);
      const gpu::Span act = s.need("act", gs.bytes);
      const gpu::Span ys = s.need("y", static_cast<uint64_t>(T * K * E) * kF);
      layer_project(w.ffn_router, Hn, logits);
      cmd.route_experts(logits, T, NE, K, ids, weights);
      cmd.matmul_experts(g.exp_gate, g.gate_stride, Hn, ids, T, K, gs);
      cmd.matmul_experts(g.exp_up, g.up_stride, Hn, ids, T, K, us);
      cmd.swiglu(gs, us, act, T * K, F, F);
      // Each slot's own row: T·K tokens of one slot each.
      cmd.matmul_experts(g.exp_down, g.down_stride, act, ids, T * K, 1, ys);
      cmd.combine_experts(ys, weights, T, K, E, P);
    } else if (w.gate_up_fused) {
      const gpu::Span gu = s.need("gu", static_cast<uint64_t>(T * 2 * F) * kF);
      const gpu::Span act = s.need("act", static_cast<uint64_t>(T * F) * kF);
      layer_project(w.ffn_up, Hn, gu);
      cmd.swiglu(gu, gu.at(static_cast<uint64_t>(F) * kF, gu.bytes - F * kF), act, T, F, 2 * F);
      layer_project(w.ffn_down, act, P);
    } else {
      const gpu::Span gs = s.need("g", static_cast<uint64_t>(T * F) * kF);
      const gpu::Span us = s.need("u", gs.bytes);
      const gpu::Span act = s.need("act", gs.bytes);
      layer_project(w.ffn_gate, Hn, gs);
      layer_project(w.ffn_up, Hn, us);
      if (w.gelu)
        cmd.geglu(gs, us, act, T, F, F);
      else
        cmd.swiglu(gs, us, act, T, F, F);
      layer_project(w.ffn_down, act, P);
    }
    if (!w.ffn_post_norm.empty()) cmd.rmsnorm(P, g.ffn_post_norm, P, T, E, eps);
    cmd.add(X, P, X, T * E);
  }

  if (!output) {
    cmd.run();
    s.retired.clear();
    X.buffer->download(x, X.bytes);
    return;
  }

  // The output: hidden rows (every row after the output norm), and the logits of the rows that
  // want them, gathered first.
  gpu::Span hidden, logits;
  if (pass.hidden != nullptr) {
    hidden = s.need("hidden", X.bytes);
    cmd.rmsnorm(X, s.output_norm, hidden, T, E, eps);
  }
  if (s.n_out > 0) {
    const gpu::Span outh = s.need("out_h", static_cast<uint64_t>(s.n_out * E) * kF);
    int64_t at = 0;
    for (const auto& [t, n] : s.out_runs) {
      cmd.copy_rows(X.at(static_cast<uint64_t>(t * E) * kF, static_cast<uint64_t>(n * E) * kF), E,
                    outh.at(static_cast<uint64_t>(at * E) * kF, static_cast<uint64_t>(n * E) * kF),
                    E, n, E);
      at += n;
    }
    cmd.rmsnorm(outh, s.output_norm, outh, s.n_out, E, eps);
    logits = s.need("logits", static_cast<uint64_t>(s.n_out * hp.n_vocab) * kF);
    project(mw.output, s.output_matrix, outh, Rows{s.n_out, s.out_ones, &s.out_sets}, logits);
  }
  cmd.run();
  s.retired.clear();
  if (pass.hidden != nullptr) hidden.buffer->download(pass.hidden, hidden.bytes);
  if (s.n_out > 0) logits.buffer->download(pass.logits, logits.bytes);
}

}  // namespace hearth::model
