// The forward pass of one batch, in data-flow order:
//   embeddings (× sqrt(E) for gemma3) → per layer { rmsnorm → Q/K/V (+bias) → per-head q/k
//   rmsnorm (qwen3, gemma3) → RoPE (a local layer's own base) → KV cache → attention (a local
//   layer's window only) → output projection → post-norm (gemma3) → residual; rmsnorm → FFN or
//   MoE → post-norm (gemma3) → residual } → rmsnorm → output projection.
// Each product with a weight adds the LoRA adapters bound to it (Projector): the context's for
// every row, a sequence's own for that sequence's rows. Layers offloaded to a GPU
// (gpu_layers.h) run there in ranges of consecutive layers, the same steps recorded as device
// operations; x crosses to the device and back once per range.
// Shapes: T tokens in the batch, E = n_embd, D = head_dim, H / Hkv heads, F = n_ff.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/reused_buffer.h"
#include "engine/kernels/attention.h"
#include "engine/model/context.h"
#include "engine/model/forward_batch.h"
#include "engine/model/forward_parts.h"
#include "engine/model/gpu_layers.h"
#include "engine/model/ops.h"

namespace hearth::model {

using kernels::MatmulOptions;

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

  // RoPE angles, and the cells each token's attention reads (forward_batch.h).
  const BatchPlan plan = plan_batch(batch, hp, mw, kv_);
  const auto& seq_cells = plan.seq_cells;
  const auto& token_lo = plan.token_lo;
  const auto& token_hi = plan.token_hi;

  std::span<float> h = reused_buffer<float, BufferSlot::forward_h>(x.size());
  std::span<float> q = reused_buffer<float, BufferSlot::forward_q>(static_cast<size_t>(T * Q));
  std::span<float> k = reused_buffer<float, BufferSlot::forward_k>(static_cast<size_t>(T * KV));
  std::span<float> v = reused_buffer<float, BufferSlot::forward_v>(k.size());
  std::span<float> att = reused_buffer<float, BufferSlot::forward_att>(q.size());
  std::span<float> proj = reused_buffer<float, BufferSlot::forward_proj>(x.size());

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

  // GPU layers (gpu_layers.h): the pass's shared data goes to the device once; each range of
  // consecutive GPU layers then runs there, x crossing once each way.
  const GpuLayers::Pass gpu_pass{batch, cells, plan, lora_, row_lora, logits, hidden};
  if (gpu_) gpu_->begin(gpu_pass, kv_.local_capacity());

  const bool gelu_table = o.arithmetic == kernels::Arithmetic::quantized_activations;
  for (int il = 0; il < hp.n_layer; ++il) {
    if (gpu_ && gpu_->on_gpu(il)) {
      const int end = gpu_->range_end(il);
      gpu_->run(il, end, gpu_pass, x.data());
      il = end - 1;
      continue;
    }
    const LayerWeights& w = mw.layers[static_cast<size_t>(il)];
    const int local = hp.sliding(il) ? 1 : 0;
    const float* cs = local ? plan.cos_local.data() : plan.cos.data();
    const float* sn = local ? plan.sin_local.data() : plan.sin.data();

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

  if (gpu_ && gpu_->output_on_gpu()) return;  // the last range wrote logits and hidden rows

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
