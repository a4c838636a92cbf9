// The operations of the training forward pass, each with its backward, in F32 (llm.c's layout:
// one forward/backward pair per operation, the model code in network.cpp strings them together).
//
// Conventions: T tokens of one sequence, rows are row-major F32. A backward function ADDS its
// input gradients into the d* buffers it is given (callers zero them once), so gradients that
// meet (the residual stream, Q/K/V from one fused projection) need no extra pass. What a
// backward needs from its forward is named in its signature: either the forward's inputs or a
// small saved statistic (rstd, lse). Attention, the costly one, splits its heads over a thread
// pool when given one (each head's result is the same whatever the split).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/arch.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::train::ops {

// RMSNorm of `rows` rows of n values: y = x · rstd · w with rstd = 1/sqrt(mean(x²) + eps) (the
// sum of squares in double, as the engine does). Saves rstd per row.
void rmsnorm_forward(const float* x, const float* w, int64_t rows, int n, float eps, float* y,
                     float* rstd);
// dx += ∂/∂x from dy, given the forward's x, w and rstd (w is frozen: no dw).
void rmsnorm_backward(const float* dy, const float* x, const float* w, const float* rstd,
                      int64_t rows, int n, float* dx);

// RoPE angles for positions 0..n_pos-1, D/2 each: θ_i = p·s^i with s = base^(−2/D) in float32 by
// repeated multiplication (the conformance reference's recipe, as the engine computes them),
// divided by freq_div[i] when given (Llama 3 rope_freqs).
struct RopeTable {
  int head_dim = 0;
  std::vector<float> cos, sin;  // [pos][head_dim/2]
};
RopeTable rope_table(int64_t n_pos, int head_dim, float base, std::span<const float> freq_div);
// Rotates T rows of n_heads heads (row t is position t) in place; normal style pairs
// (x[2i], x[2i+1]), NEOX (x[i], x[i + D/2]).
void rope_forward(float* x, int64_t T, int n_heads, model::RopeStyle style, const RopeTable& rope);
// The gradient of a rotation is the opposite rotation: turns dy into dx in place.
void rope_backward(float* d, int64_t T, int n_heads, model::RopeStyle style, const RopeTable& rope);

// Causal grouped-query attention: query head h reads KV head h / (n_head / n_head_kv).
// q: T×(n_head·D), k and v: T×(n_head_kv·D), out: T×(n_head·D); scale 1/sqrt(D).
// Saves lse [n_head][T], the log of each query's softmax sum, so that backward recomputes the
// probabilities from q and k instead of keeping T×T of them per head.
struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
};
void attention_forward(const float* q, const float* k, const float* v, int64_t T,
                       const AttentionShape& s, float* out, float* lse, ThreadPool* pool = nullptr);
void attention_backward(const float* dout, const float* q, const float* k, const float* v,
                        const float* lse, int64_t T, const AttentionShape& s, float* dq, float* dk,
                        float* dv, ThreadPool* pool = nullptr);

// SwiGLU over n values: out = silu(g) · u.
void swiglu_forward(const float* g, const float* u, int64_t n, float* out);
void swiglu_backward(const float* dout, const float* g, const float* u, int64_t n, float* dg,
                     float* du);

// Adds bias b (n values) to each of `rows` rows. Its backward passes dy through unchanged (the
// bias is frozen), so it has none.
void add_bias(float* y, const float* b, int64_t rows, int n);

// Cross-entropy of T rows of V logits against targets[t] (−1: not a target): returns the mean
// over the targets of −log softmax(logits[t])[targets[t]] (0 when there are none) and, when
// dlogits is given, writes (not adds) its gradient: (softmax − onehot) / n_targets on target rows,
// 0 elsewhere.
double cross_entropy(const float* logits, int64_t T, int V, std::span<const int> targets,
                     float* dlogits);

}  // namespace hearth::train::ops
