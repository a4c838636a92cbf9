// The forward pass of one batch, in data-flow order:
//   embeddings (× sqrt(E) for gemma3) → per layer { rmsnorm → Q/K/V (+bias) → per-head q/k
//   rmsnorm (qwen3, gemma3) → RoPE (a local layer's own base) → KV cache → attention (a local
//   layer's window only) → output projection → post-norm (gemma3) → residual; rmsnorm → FFN or
//   MoE → post-norm (gemma3) → residual } → rmsnorm → output projection.
// Each product with a weight adds the LoRA adapters bound to it (Projector): the context's for
// every row, a sequence's own for that sequence's rows.
// Shapes: T tokens in the batch, E = n_embd, D = head_dim, H / Hkv heads, F = n_ff.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/reused_buffer.h"
#include "engine/kernels/attention.h"
#include "engine/model/context.h"
#include "engine/model/ops.h"

namespace hearth::model {

namespace {

using kernels::MatmulOptions;

// linear() for batch-invariant decoding (ContextOptions::batch_invariant): `one` (per row of x,
// may be null for no split) marks the rows computed with the one-token kernels; the others use
// the many-token ones. Each kind goes through matmul in one call, its rows gathered when they
// are not contiguous; either way every row's result depends on that row alone.
void linear_rows(const WeightMatrix& w, const float* x, int64_t T, float* y,
                 const MatmulOptions& o, const uint8_t* one) {
  if (one == nullptr) {
    linear(w, x, T, y, o);
    return;
  }
  std::vector<int64_t> rows;
  std::vector<float> xs, ys;
  for (const uint8_t kind : {uint8_t{1}, uint8_t{0}}) {
    rows.clear();
    for (int64_t t = 0; t < T; ++t)
      if (one[t] == kind) rows.push_back(t);
    if (rows.empty()) continue;
    MatmulOptions ok = o;
    ok.path = kind ? MatmulOptions::Path::one_token : MatmulOptions::Path::many_tokens;
    const auto n = static_cast<int64_t>(rows.size());
    if (rows.back() - rows.front() + 1 == n) {  // contiguous: in place
      linear(w, x + rows.front() * w.n_in, n, y + rows.front() * w.n_out, ok);
      continue;
    }
    xs.resize(static_cast<size_t>(n * w.n_in));
    ys.resize(static_cast<size_t>(n * w.n_out));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + rows[i] * w.n_in, w.n_in, &xs[i * w.n_in]);
    linear(w, xs.data(), n, ys.data(), ok);
    for (int64_t i = 0; i < n; ++i) std::copy_n(&ys[i * w.n_out], w.n_out, y + rows[i] * w.n_out);
  }
}

// Every product with a model weight: W x through the kernels, plus the LoRA terms bound to W
// (lora.h), each scale · B (A x) added in adapter order: first the context's, then each row's
// own sequence's. `one` as linear_rows(). `row_lora` (per row, the bound adapters of its
// sequence or null) is null itself when no row's sequence has adapters, which costs nothing.
struct Projector {
  const MatmulOptions& o;
  const uint8_t* one;
  const LoraIndex& lora;
  const LoraIndex* const* row_lora = nullptr;

  void operator()(const WeightMatrix& w, const float* x, int64_t T, float* y) const {
    linear_rows(w, x, T, y, o, one);
    if (const std::vector<LoraTerm>* terms = lora.find(w)) {
      std::vector<float> ax, bax;
      for (const LoraTerm& term : *terms) {
        ax.resize(static_cast<size_t>(T * term.a.n_out));
        bax.resize(static_cast<size_t>(T * term.b.n_out));
        linear_rows(term.a, x, T, ax.data(), o, one);
        linear_rows(term.b, ax.data(), T, bax.data(), o, one);
        for (size_t i = 0; i < bax.size(); ++i) y[i] += term.scale * bax[i];
      }
    }
    if (row_lora != nullptr) add_sequence_terms(w, x, T, y);
  }

  // Per set of sequence adapters: its rows gathered, A x then B (A x) over them (each row with
  // its own kernel kind, so a row's result depends on that row alone), scale · B (A x) added
  // back to those rows.
  void add_sequence_terms(const WeightMatrix& w, const float* x, int64_t T, float* y) const {
    std::vector<const LoraIndex*> sets;  // in order of first use
    for (int64_t t = 0; t < T; ++t)
      if (row_lora[t] != nullptr && std::find(sets.begin(), sets.end(), row_lora[t]) == sets.end())
        sets.push_back(row_lora[t]);
    std::vector<int64_t> rows;
    std::vector<uint8_t> rows_one;
    std::vector<float> xs, ax, bax;
    for (const LoraIndex* set : sets) {
      const std::vector<LoraTerm>* terms = set->find(w);
      if (terms == nullptr) continue;
      rows.clear();
      rows_one.clear();
      for (int64_t t = 0; t < T; ++t)
        if (row_lora[t] == set) {
          rows.push_back(t);
          if (one != nullptr) rows_one.push_back(one[t]);
        }
      const auto n = static_cast<int64_t>(rows.size());
      xs.resize(static_cast<size_t>(n * w.n_in));
      for (int64_t i = 0; i < n; ++i) std::copy_n(x + rows[i] * w.n_in, w.n_in, &xs[i * w.n_in]);
      const uint8_t* kinds = one != nullptr ? rows_one.data() : nullptr;
      for (const LoraTerm& term : *terms) {
        ax.resize(static_cast<size_t>(n * term.a.n_out));
        bax.resize(static_cast<size_t>(n * term.b.n_out));
        linear_rows(term.a, xs.data(), n, ax.data(), o, kinds);
        linear_rows(term.b, ax.data(), n, bax.data(), o, kinds);
        for (int64_t i = 0; i < n; ++i) {
          float* yr = y + rows[i] * w.n_out;
          const float* br = &bax[static_cast<size_t>(i * w.n_out)];
          for (int64_t c = 0; c < w.n_out; ++c) yr[c] += term.scale * br[c];
        }
      }
    }
  }

  // The same for a subset of the rows, whose kinds are `rows_one` (null: no split) and whose
  // sequence adapters are `rows_lora` (null: none).
  Projector rows(const uint8_t* rows_one, const LoraIndex* const* rows_lora) const {
    return {o, rows_one, lora, rows_lora};
  }
};

// Adds `bias` (n values) to each of T rows of `stride` floats starting at x.
void add_bias(float* x, const std::vector<float>& bias, int64_t T, int stride) {
  if (bias.empty()) return;
  for (int64_t t = 0; t < T; ++t)
    for (size_t i = 0; i < bias.size(); ++i) x[t * stride + static_cast<int64_t>(i)] += bias[i];
}

// Dense gated FFN: out (T×E) = down(act(gate·x) * (up·x)), act SiLU or GELU (tanh); GELU as
// llama.cpp's CPU backend computes it (an F16 table) when `gelu_table`.
void dense_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
               const Projector& project, bool gelu_table) {
  const int F = hp.n_ff;
  const auto n = static_cast<size_t>(T * F);
  std::span<float> act = reused_buffer<float, BufferSlot::ffn_act>(n);
  if (w.gate_up_fused) {
    // per token: F gate, then F up
    std::span<float> gu = reused_buffer<float, BufferSlot::ffn_gate>(2 * n);
    project(w.ffn_up, x, T, gu.data());
    for (int64_t t = 0; t < T; ++t) swiglu(&gu[t * 2 * F], &gu[t * 2 * F + F], &act[t * F], F);
  } else {
    std::span<float> g = reused_buffer<float, BufferSlot::ffn_gate>(n);
    std::span<float> u = reused_buffer<float, BufferSlot::ffn_up>(n);
    project(w.ffn_gate, x, T, g.data());
    project(w.ffn_up, x, T, u.data());
    if (w.gelu) {
      geglu(g.data(), u.data(), act.data(), static_cast<int>(T * F), gelu_table);
    } else {
      swiglu(g.data(), u.data(), act.data(), static_cast<int>(T * F));
    }
  }
  project(w.ffn_down, act.data(), T, out);
}

// Mixture of experts: softmax over all router logits, keep the top n_expert_used, renormalise
// their weights to sum 1, and sum the chosen experts' SwiGLU outputs weighted (in rank order).
void moe_ffn(const LayerWeights& w, const Hparams& hp, const float* x, int64_t T, float* out,
             const Projector& project) {
  const int E = hp.n_embd, F = hp.n_ff, K = hp.n_expert_used, NE = hp.n_expert;
  std::vector<float> probs(static_cast<size_t>(T * NE));
  project(w.ffn_router, x, T, probs.data());

  // choice[t*K + k] = expert of rank k for token t, weight[t*K + k] its weight.
  std::vector<int> choice(static_cast<size_t>(T * K));
  std::vector<float> weight(static_cast<size_t>(T * K));
  std::vector<int> order(static_cast<size_t>(NE));
  for (int64_t t = 0; t < T; ++t) {
    float* p = &probs[t * NE];
    softmax(p, NE);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
    float sum = 0;
    for (int k = 0; k < K; ++k) sum += p[order[k]];
    for (int k = 0; k < K; ++k) {
      choice[t * K + k] = order[k];
      weight[t * K + k] = p[order[k]] / sum;
    }
  }

  // Each expert runs once over the tokens routed to it; results land in ranked slots.
  std::vector<float> slots(static_cast<size_t>(T * K * E));
  std::vector<float> xs, g, u, act, y;
  std::vector<uint8_t> xs_one;            // the row kinds of xs, when splitting
  std::vector<const LoraIndex*> xs_lora;  // the sequence adapters of xs's rows, when any
  for (int e = 0; e < NE; ++e) {
    std::vector<int64_t> rows;  // indexes t*K + k routed to e
    for (int64_t r = 0; r < T * K; ++r)
      if (choice[r] == e) rows.push_back(r);
    if (rows.empty()) continue;
    const auto n = static_cast<int64_t>(rows.size());
    xs.resize(static_cast<size_t>(n * E));
    for (int64_t i = 0; i < n; ++i) std::copy_n(x + (rows[i] / K) * E, E, &xs[i * E]);
    const uint8_t* sub_one = nullptr;
    if (project.one != nullptr) {
      xs_one.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) xs_one[static_cast<size_t>(i)] = project.one[rows[i] / K];
      sub_one = xs_one.data();
    }
    const LoraIndex* const* sub_lora = nullptr;
    if (project.row_lora != nullptr) {
      xs_lora.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        xs_lora[static_cast<size_t>(i)] = project.row_lora[rows[i] / K];
      sub_lora = xs_lora.data();
    }
    const Projector expert = project.rows(sub_one, sub_lora);
    g.resize(static_cast<size_t>(n * F));
    u.resize(g.size());
    act.resize(g.size());
    y.resize(static_cast<size_t>(n * E));
    expert(w.expert_gate[e], xs.data(), n, g.data());
    expert(w.expert_up[e], xs.data(), n, u.data());
    swiglu(g.data(), u.data(), act.data(), static_cast<int>(n * F));
    expert(w.expert_down[e], act.data(), n, y.data());
    for (int64_t i = 0; i < n; ++i)
      for (int c = 0; c < E; ++c) slots[rows[i] * E + c] = y[i * E + c] * weight[rows[i]];
  }
  for (int64_t t = 0; t < T; ++t)
    for (int c = 0; c < E; ++c) {
      float s = slots[(t * K) * E + c];
      for (int k = 1; k < K; ++k) s += slots[(t * K + k) * E + c];
      out[t * E + c] = s;
    }
}

}  // namespace

void Context::forward(std::span<const BatchEntry> batch, const std::vector<KvCache::Cell>& cells,
                      float* logits, float* hidden) {
  const Hparams& hp = model_->hparams();
  const ModelWeights& mw = model_->weights();
  const MatmulOptions& o = options_.matmul;
  const auto T = static_cast<int64_t>(batch.size());
  const int E = hp.n_embd, D = hp.head_dim, H = hp.n_head, Hkv = hp.n_head_kv;
  const int Q = hp.n_q_dim(), KV = hp.n_kv_dim();
  const float scale = hp.attention_scale();

  // Batch-invariant decoding: a token alone from its sequence uses the one-token kernels.
  std::vector<uint8_t> one_rows;
  if (options_.batch_invariant) {
    std::map<int, int> per_seq;
    for (const BatchEntry& e : batch) ++per_seq[e.seq_id];
    one_rows.resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t)
      one_rows[static_cast<size_t>(t)] = per_seq[batch[t].seq_id] == 1;
  }
  const uint8_t* one = one_rows.empty() ? nullptr : one_rows.data();

  // Sequence adapters: each row's bound set, only when some sequence in the batch has one.
  std::vector<const LoraIndex*> lora_rows;
  if (!seq_adapters_.empty()) {
    bool any = false;
    lora_rows.resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const auto it = seq_adapters_.find(batch[t].seq_id);
      lora_rows[static_cast<size_t>(t)] = it == seq_adapters_.end() ? nullptr : &it->second->index;
      any = any || it != seq_adapters_.end();
    }
    if (!any) lora_rows.clear();
  }
  const LoraIndex* const* row_lora = lora_rows.empty() ? nullptr : lora_rows.data();
  const Projector project{o, one, lora_, row_lora};

  // Token embeddings (T×E), dequantized exactly.
  // The activations, in buffers kept from one call to the next (reused_buffer.h).
  std::span<float> x = reused_buffer<float, BufferSlot::forward_x>(static_cast<size_t>(T * E));
  for (int64_t t = 0; t < T; ++t) kernels::dequantize_row(mw.token_embd, batch[t].token, &x[t * E]);
  if (mw.embd_scale != 0)
    for (float& v : x) v *= mw.embd_scale;

  // RoPE angles per token (T×D/2): global layers', and local layers' with their own base.
  const bool any_local = hp.n_layer_swa() > 0;
  std::vector<float> cos(static_cast<size_t>(T * D / 2)), sin(cos.size());
  std::vector<float> cos_local(any_local ? cos.size() : 0), sin_local(cos_local.size());
  for (int64_t t = 0; t < T; ++t) {
    rope_angles(batch[t].pos, D, hp.rope_base, mw.rope_freqs, &cos[t * D / 2], &sin[t * D / 2],
                hp.rope_freq_scale);
    if (any_local)
      rope_angles(batch[t].pos, D, hp.rope_base_swa, {}, &cos_local[t * D / 2],
                  &sin_local[t * D / 2]);
  }

  // Per sequence in the batch: the highest position, which bounds what attention reads.
  std::map<int, int> seq_max_pos;
  for (const BatchEntry& e : batch) seq_max_pos[e.seq_id] = std::max(seq_max_pos[e.seq_id], e.pos);

  std::span<float> h = reused_buffer<float, BufferSlot::forward_h>(x.size());
  std::span<float> q = reused_buffer<float, BufferSlot::forward_q>(static_cast<size_t>(T * Q));
  std::span<float> k = reused_buffer<float, BufferSlot::forward_k>(static_cast<size_t>(T * KV));
  std::span<float> v = reused_buffer<float, BufferSlot::forward_v>(k.size());
  std::span<float> att = reused_buffer<float, BufferSlot::forward_att>(q.size());
  std::span<float> proj = reused_buffer<float, BufferSlot::forward_proj>(x.size());

  // Per sequence and kind of layer (global, local): the cells attention reads (positions ≤ the
  // batch's highest), the same for every layer of the kind; per token, the run [lo, hi) of that
  // list it sees: every earlier position in a global layer, those within the window in a local
  // one. Attention reads them in place.
  struct SeqCells {
    std::vector<int> cells, pos;
  };
  std::map<int, SeqCells> seq_cells[2];
  std::vector<int> token_lo[2], token_hi[2];
  for (int local = 0; local < (any_local ? 2 : 1); ++local) {
    for (const auto& [seq, max_pos] : seq_max_pos) {
      SeqCells& s = seq_cells[local][seq];
      kv_.sequence_cells(seq, max_pos, local != 0, s.cells, s.pos);
    }
    token_lo[local].resize(static_cast<size_t>(T));
    token_hi[local].resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const SeqCells& s = seq_cells[local].at(batch[t].seq_id);
      const int p = batch[t].pos;
      const auto end = std::upper_bound(s.pos.begin(), s.pos.end(), p);
      const auto begin =
          local ? std::lower_bound(s.pos.begin(), end, p - hp.n_swa + 1) : s.pos.begin();
      token_lo[local][static_cast<size_t>(t)] = static_cast<int>(begin - s.pos.begin());
      token_hi[local][static_cast<size_t>(t)] = static_cast<int>(end - s.pos.begin());
    }
  }
  const int n_rep = H / Hkv;
  const KvType kv_type = kv_.type();

  // Attention work: per sequence, its tokens in blocks of up to kAttentionMaxRows query rows
  // (block tokens × n_rep heads), each block once per KV head, so a tile of K/V is widened once
  // for all of them. Later blocks see more keys: they are listed first, so the threads that
  // claim items in order finish together.
  struct AttnItem {
    int seq;
    std::vector<int64_t> tokens;
  };
  std::vector<AttnItem> attn_blocks;
  {
    const int per_block = std::max(1, kernels::kAttentionMaxRows / n_rep);
    std::map<int, std::vector<int64_t>> seq_tokens;
    for (int64_t t = 0; t < T; ++t) seq_tokens[batch[t].seq_id].push_back(t);
    for (const auto& [seq, tokens] : seq_tokens)
      for (size_t i = 0; i < tokens.size(); i += static_cast<size_t>(per_block))
        attn_blocks.push_back(
            {seq, std::vector<int64_t>(tokens.begin() + static_cast<ptrdiff_t>(i),
                                       tokens.begin() + static_cast<ptrdiff_t>(std::min(
                                           tokens.size(), i + static_cast<size_t>(per_block))))});
    std::stable_sort(attn_blocks.begin(), attn_blocks.end(),
                     [](const AttnItem& a, const AttnItem& b) { return a.tokens.back() > b.tokens.back(); });
  }

  const bool gelu_table = o.arithmetic == kernels::Arithmetic::quantized_activations;
  for (int il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& w = mw.layers[static_cast<size_t>(il)];
    const int local = hp.sliding(il) ? 1 : 0;
    const float* cs = local ? cos_local.data() : cos.data();
    const float* sn = local ? sin_local.data() : sin.data();

    // Attention block.
    for (int64_t t = 0; t < T; ++t)
      rmsnorm(&x[t * E], w.attn_norm.data(), &h[t * E], E, hp.rms_eps);
    if (w.wqkv.data != nullptr) {
      std::span<float> qkv =
          reused_buffer<float, BufferSlot::forward_qkv>(static_cast<size_t>(T * (Q + 2 * KV)));
      project(w.wqkv, h.data(), T, qkv.data());
      for (int64_t t = 0; t < T; ++t) {
        const float* row = &qkv[t * (Q + 2 * KV)];
        std::copy_n(row, Q, &q[t * Q]);
        std::copy_n(row + Q, KV, &k[t * KV]);
        std::copy_n(row + Q + KV, KV, &v[t * KV]);
      }
    } else {
      project(w.wq, h.data(), T, q.data());
      project(w.wk, h.data(), T, k.data());
      project(w.wv, h.data(), T, v.data());
    }
    add_bias(q.data(), w.bq, T, Q);
    add_bias(k.data(), w.bk, T, KV);
    add_bias(v.data(), w.bv, T, KV);
    if (!w.q_norm.empty())
      for (int64_t t = 0; t < T; ++t) {
        for (int hd = 0; hd < H; ++hd)
          rmsnorm(&q[t * Q + hd * D], w.q_norm.data(), &q[t * Q + hd * D], D, hp.rms_eps);
        for (int hd = 0; hd < Hkv; ++hd)
          rmsnorm(&k[t * KV + hd * D], w.k_norm.data(), &k[t * KV + hd * D], D, hp.rms_eps);
      }
    for (int64_t t = 0; t < T; ++t) {
      rope_apply(&q[t * Q], H, D, hp.rope_style, &cs[t * D / 2], &sn[t * D / 2]);
      rope_apply(&k[t * KV], Hkv, D, hp.rope_style, &cs[t * D / 2], &sn[t * D / 2]);
      kv_.store(il, cells[static_cast<size_t>(t)], &k[t * KV], &v[t * KV]);
    }
    // One item per (block of a sequence's tokens, KV head): all the block's query rows of that
    // head read its K and V tiles together.
    const auto* k_layer = static_cast<const char*>(kv_.k_data(il));
    const auto* v_layer = static_cast<const char*>(kv_.v_data(il));
    const int64_t stride = kv_.row_stride(il);
    const size_t head_bytes = kv_row_bytes(kv_type, D);
    auto attend_item = [&](size_t item) {
      const AttnItem& block = attn_blocks[item / static_cast<size_t>(Hkv)];
      const int g = static_cast<int>(item % static_cast<size_t>(Hkv));
      thread_local std::vector<const float*> q_rows;
      thread_local std::vector<float*> out_rows;
      thread_local std::vector<int> lo, hi;
      q_rows.clear();
      out_rows.clear();
      lo.clear();
      hi.clear();
      for (const int64_t t : block.tokens)
        for (int r = 0; r < n_rep; ++r) {
          const int64_t at = t * Q + (g * n_rep + r) * D;
          q_rows.push_back(&q[static_cast<size_t>(at)]);
          out_rows.push_back(&att[static_cast<size_t>(at)]);
          lo.push_back(token_lo[local][static_cast<size_t>(t)]);
          hi.push_back(token_hi[local][static_cast<size_t>(t)]);
        }
      KvHead head;
      head.k = k_layer + static_cast<size_t>(g) * head_bytes;
      head.v = v_layer + static_cast<size_t>(g) * head_bytes;
      head.type = kv_type;
      head.stride = stride;
      head.cells = seq_cells[local].at(block.seq).cells.data();
      attend_rows(q_rows.data(), out_rows.data(), lo.data(), hi.data(),
                  static_cast<int>(q_rows.size()), D, head, scale, o.kernels);
    };
    const size_t n_items = attn_blocks.size() * static_cast<size_t>(Hkv);
    if (o.pool != nullptr) {
      o.pool->parallel_for(n_items, attend_item);
    } else {
      for (size_t i = 0; i < n_items; ++i) attend_item(i);
    }
    project(w.wo, att.data(), T, proj.data());
    if (!w.attn_post_norm.empty())
      for (int64_t t = 0; t < T; ++t)
        rmsnorm(&proj[t * E], w.attn_post_norm.data(), &proj[t * E], E, hp.rms_eps);
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];

    // Feed-forward block.
    for (int64_t t = 0; t < T; ++t) rmsnorm(&x[t * E], w.ffn_norm.data(), &h[t * E], E, hp.rms_eps);
    if (w.is_moe()) {
      moe_ffn(w, hp, h.data(), T, proj.data(), project);
    } else {
      dense_ffn(w, hp, h.data(), T, proj.data(), project, gelu_table);
    }
    if (!w.ffn_post_norm.empty())
      for (int64_t t = 0; t < T; ++t)
        rmsnorm(&proj[t * E], w.ffn_post_norm.data(), &proj[t * E], E, hp.rms_eps);
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
  }

  // Hidden states (embeddings): every row after the output norm.
  if (hidden != nullptr)
    for (int64_t t = 0; t < T; ++t)
      rmsnorm(&x[t * E], mw.output_norm.data(), &hidden[t * E], E, hp.rms_eps);

  // Output: only the rows that want logits.
  int64_t n_out = 0;
  std::vector<uint8_t> out_one;
  std::vector<const LoraIndex*> out_lora;
  for (int64_t t = 0; t < T; ++t)
    if (batch[t].want_logits) {
      rmsnorm(&x[t * E], mw.output_norm.data(), &h[n_out * E], E, hp.rms_eps);
      if (one != nullptr) out_one.push_back(one[t]);
      if (row_lora != nullptr) out_lora.push_back(row_lora[t]);
      ++n_out;
    }
  if (n_out > 0)
    project.rows(one ? out_one.data() : nullptr, row_lora ? out_lora.data() : nullptr)(
        mw.output, h.data(), n_out, logits);
}

}  // namespace hearth::model
