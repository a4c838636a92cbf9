#include "train/block.h"

#include <algorithm>

#include "engine/model/arch.h"

namespace hearth::train {

namespace {

using model::tensors::kAttnK;
using model::tensors::kAttnOutput;
using model::tensors::kAttnQ;
using model::tensors::kAttnQkv;
using model::tensors::kAttnV;
using model::tensors::kFfnDown;
using model::tensors::kFfnGate;
using model::tensors::kFfnUp;

const LoraBinding* lora_of(const BlockContext& c, int slot) {
  return c.lora[static_cast<size_t>(slot)].a ? &c.lora[static_cast<size_t>(slot)] : nullptr;
}

// y = slot's weight · x (+ LoRA), keeping A x in acts.lora_u[slot].
void project(const BlockContext& c, int slot, const float* x, float* y, LayerActs& acts) {
  const LoraBinding* lora = lora_of(c, slot);
  std::vector<float>& u = acts.lora_u[static_cast<size_t>(slot)];
  if (lora) u.resize(static_cast<size_t>(c.T * lora->rank));
  linear_forward(slot_weight(c.w, slot), lora, x, c.T, y, lora ? u.data() : nullptr, c.options);
}

void project_backward(const BlockContext& c, int slot, const float* x, const float* dy, float* dx,
                      const LayerActs& acts) {
  linear_backward(slot_weight(c.w, slot), lora_of(c, slot), x,
                  acts.lora_u[static_cast<size_t>(slot)].data(), dy, c.T, dx, c.options);
}

// Copies columns [from, from + n) of T rows of `width` into T rows of n, or back (scatter adds).
void take_columns(const float* src, int64_t T, int64_t width, int64_t from, int64_t n, float* dst) {
  for (int64_t t = 0; t < T; ++t) std::copy_n(src + t * width + from, n, dst + t * n);
}
void put_columns(const float* src, int64_t T, int64_t width, int64_t from, int64_t n, float* dst) {
  for (int64_t t = 0; t < T; ++t) std::copy_n(src + t * n, n, dst + t * width + from);
}

// The block's temporaries, kept per thread between calls (fresh large allocations would cost
// page faults every step). Each use has its own member, so nothing in flight is overwritten.
struct Scratch {
  std::vector<float> qkv, gu, out, dq, dk, dv, dqkv, dact, dg, du, dgu, dxn, datt;
};
Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}
// v resized to n values (contents to be overwritten), or set to n zeros.
std::vector<float>& sized(std::vector<float>& v, int64_t n) {
  v.resize(static_cast<size_t>(n));
  return v;
}
std::vector<float>& zeros(std::vector<float>& v, int64_t n) {
  v.assign(static_cast<size_t>(n), 0.0f);
  return v;
}

void attention_forward(const BlockContext& c, LayerActs& a) {
  const model::Hparams& hp = c.hp;
  const int64_t T = c.T, nq = hp.n_q_dim(), nkv = hp.n_kv_dim();
  a.q.resize(static_cast<size_t>(T * nq));
  a.k.resize(static_cast<size_t>(T * nkv));
  a.v.resize(static_cast<size_t>(T * nkv));
  if (c.w.wqkv.data) {
    const int64_t width = nq + 2 * nkv;
    std::vector<float>& qkv = sized(scratch().qkv, T * width);
    project(c, kQkv, a.xn_attn.data(), qkv.data(), a);
    take_columns(qkv.data(), T, width, 0, nq, a.q.data());
    take_columns(qkv.data(), T, width, nq, nkv, a.k.data());
    take_columns(qkv.data(), T, width, nq + nkv, nkv, a.v.data());
  } else {
    project(c, kQ, a.xn_attn.data(), a.q.data(), a);
    project(c, kK, a.xn_attn.data(), a.k.data(), a);
    project(c, kV, a.xn_attn.data(), a.v.data(), a);
  }
  if (!c.w.bq.empty()) ops::add_bias(a.q.data(), c.w.bq.data(), T, static_cast<int>(nq));
  if (!c.w.bk.empty()) ops::add_bias(a.k.data(), c.w.bk.data(), T, static_cast<int>(nkv));
  if (!c.w.bv.empty()) ops::add_bias(a.v.data(), c.w.bv.data(), T, static_cast<int>(nkv));
  ops::rope_forward(a.q.data(), T, hp.n_head, hp.rope_style, c.rope);
  ops::rope_forward(a.k.data(), T, hp.n_head_kv, hp.rope_style, c.rope);
  a.att.resize(static_cast<size_t>(T * nq));
  a.lse.resize(static_cast<size_t>(T * hp.n_head));
  ops::attention_forward(a.q.data(), a.k.data(), a.v.data(), T,
                         {hp.n_head, hp.n_head_kv, hp.head_dim}, a.att.data(), a.lse.data(),
                         c.options.pool);
}

// From d(att) to d(xn_attn), added into dxn.
void attention_backward(const BlockContext& c, const LayerActs& a, const float* datt, float* dxn) {
  const model::Hparams& hp = c.hp;
  const int64_t T = c.T, nq = hp.n_q_dim(), nkv = hp.n_kv_dim();
  Scratch& sc = scratch();
  std::vector<float>& dq = zeros(sc.dq, T * nq);
  std::vector<float>& dk = zeros(sc.dk, T * nkv);
  std::vector<float>& dv = zeros(sc.dv, T * nkv);
  ops::attention_backward(datt, a.q.data(), a.k.data(), a.v.data(), a.lse.data(), T,
                          {hp.n_head, hp.n_head_kv, hp.head_dim}, dq.data(), dk.data(), dv.data(),
                          c.options.pool);
  ops::rope_backward(dq.data(), T, hp.n_head, hp.rope_style, c.rope);
  ops::rope_backward(dk.data(), T, hp.n_head_kv, hp.rope_style, c.rope);
  // Biases are frozen and additive: their outputs' gradients pass through unchanged.
  if (c.w.wqkv.data) {
    const int64_t width = nq + 2 * nkv;
    std::vector<float>& dqkv = sized(sc.dqkv, T * width);
    put_columns(dq.data(), T, width, 0, nq, dqkv.data());
    put_columns(dk.data(), T, width, nq, nkv, dqkv.data());
    put_columns(dv.data(), T, width, nq + nkv, nkv, dqkv.data());
    project_backward(c, kQkv, a.xn_attn.data(), dqkv.data(), dxn, a);
  } else {
    project_backward(c, kQ, a.xn_attn.data(), dq.data(), dxn, a);
    project_backward(c, kK, a.xn_attn.data(), dk.data(), dxn, a);
    project_backward(c, kV, a.xn_attn.data(), dv.data(), dxn, a);
  }
}

void ffn_forward(const BlockContext& c, LayerActs& a, float* out) {
  const int64_t T = c.T, F = c.hp.n_ff;
  a.gate.resize(static_cast<size_t>(T * F));
  a.up.resize(static_cast<size_t>(T * F));
  if (c.w.gate_up_fused) {
    std::vector<float>& gu = sized(scratch().gu, T * 2 * F);
    project(c, kUp, a.xn_ffn.data(), gu.data(), a);
    take_columns(gu.data(), T, 2 * F, 0, F, a.gate.data());
    take_columns(gu.data(), T, 2 * F, F, F, a.up.data());
  } else {
    project(c, kGate, a.xn_ffn.data(), a.gate.data(), a);
    project(c, kUp, a.xn_ffn.data(), a.up.data(), a);
  }
  a.act.resize(static_cast<size_t>(T * F));
  ops::swiglu_forward(a.gate.data(), a.up.data(), T * F, a.act.data());
  project(c, kDown, a.act.data(), out, a);
}

void ffn_backward(const BlockContext& c, const LayerActs& a, const float* dout, float* dxn) {
  const int64_t T = c.T, F = c.hp.n_ff;
  Scratch& sc = scratch();
  std::vector<float>& dact = zeros(sc.dact, T * F);
  std::vector<float>& dg = zeros(sc.dg, T * F);
  std::vector<float>& du = zeros(sc.du, T * F);
  project_backward(c, kDown, a.act.data(), dout, dact.data(), a);
  ops::swiglu_backward(dact.data(), a.gate.data(), a.up.data(), T * F, dg.data(), du.data());
  if (c.w.gate_up_fused) {
    std::vector<float>& dgu = sized(sc.dgu, T * 2 * F);
    put_columns(dg.data(), T, 2 * F, 0, F, dgu.data());
    put_columns(du.data(), T, 2 * F, F, F, dgu.data());
    project_backward(c, kUp, a.xn_ffn.data(), dgu.data(), dxn, a);
  } else {
    project_backward(c, kGate, a.xn_ffn.data(), dg.data(), dxn, a);
    project_backward(c, kUp, a.xn_ffn.data(), du.data(), dxn, a);
  }
}

}  // namespace

std::string_view slot_suffix(int slot) {
  static constexpr std::string_view kSuffixes[kSlotCount] = {
      kAttnQ, kAttnK, kAttnV, kAttnQkv, kAttnOutput, kFfnGate, kFfnUp, kFfnDown};
  return kSuffixes[slot];
}

const kernels::WeightMatrix& slot_weight(const model::LayerWeights& w, int slot) {
  switch (slot) {
    case kQ:
      return w.wq;
    case kK:
      return w.wk;
    case kV:
      return w.wv;
    case kQkv:
      return w.wqkv;
    case kO:
      return w.wo;
    case kGate:
      return w.ffn_gate;
    case kUp:
      return w.ffn_up;
    default:
      return w.ffn_down;
  }
}

void block_forward(const BlockContext& c, float* x, LayerActs& a) {
  const int64_t T = c.T, E = c.hp.n_embd;
  const size_t n = static_cast<size_t>(T * E);
  a.x_in.assign(x, x + n);
  a.rstd_attn.resize(static_cast<size_t>(T));
  a.xn_attn.resize(n);
  ops::rmsnorm_forward(x, c.w.attn_norm.data(), T, static_cast<int>(E), c.hp.rms_eps,
                       a.xn_attn.data(), a.rstd_attn.data());
  attention_forward(c, a);
  std::vector<float>& out = sized(scratch().out, T * E);
  project(c, kO, a.att.data(), out.data(), a);
  for (size_t i = 0; i < n; ++i) x[i] += out[i];

  a.x_mid.assign(x, x + n);
  a.rstd_ffn.resize(static_cast<size_t>(T));
  a.xn_ffn.resize(n);
  ops::rmsnorm_forward(x, c.w.ffn_norm.data(), T, static_cast<int>(E), c.hp.rms_eps,
                       a.xn_ffn.data(), a.rstd_ffn.data());
  if (c.w.is_moe())
    moe_forward(c, a.xn_ffn.data(), out.data(), a.moe);
  else
    ffn_forward(c, a, out.data());
  for (size_t i = 0; i < n; ++i) x[i] += out[i];
}

void block_backward(const BlockContext& c, float* dx, const LayerActs& a) {
  const int64_t T = c.T, E = c.hp.n_embd;
  // x_out = x_mid + ffn(norm(x_mid)): dx_mid = dx_out + norm'ᵀ(ffn'ᵀ dx_out), added in place.
  std::vector<float>& dxn = zeros(scratch().dxn, T * E);
  if (c.w.is_moe())
    moe_backward(c, a.xn_ffn.data(), dx, a.moe, dxn.data());
  else
    ffn_backward(c, a, dx, dxn.data());
  ops::rmsnorm_backward(dxn.data(), a.x_mid.data(), c.w.ffn_norm.data(), a.rstd_ffn.data(), T,
                        static_cast<int>(E), dx);

  std::vector<float>& datt = zeros(scratch().datt, T * c.hp.n_q_dim());
  project_backward(c, kO, a.att.data(), dx, datt.data(), a);
  std::fill(dxn.begin(), dxn.end(), 0.0f);
  attention_backward(c, a, datt.data(), dxn.data());
  ops::rmsnorm_backward(dxn.data(), a.x_in.data(), c.w.attn_norm.data(), a.rstd_attn.data(), T,
                        static_cast<int>(E), dx);
}

}  // namespace hearth::train
