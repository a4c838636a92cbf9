// The element-wise and attention operations of the forward pass, in F32, written to follow the
// arithmetic of the conformance reference (llama.cpp's CPU backend) step by step.
// Shapes: T tokens, E = n_embd, D = head_dim. Internal to the model folder.
#pragma once

#include <cstdint>
#include <span>

#include "engine/kernels/matmul.h"
#include "engine/model/kv_cache.h"
#include "engine/model/weights.h"

namespace hearth::model {

// y (T×n_out) = W x (T×n_in), through the kernels (the one way weights are multiplied).
void linear(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            const kernels::MatmulOptions& options);

// out[i] = (x[i] / sqrt(mean(x²) + eps)) · weight[i] for one row of n values; the sum of
// squares is accumulated in double as ggml does.
void rmsnorm(const float* x, const float* weight, float* out, int n, float eps);

// RoPE angles for one position: for pair i, θ_i = pos·s^i with s = base^(−2/D) in float32 and
// the powers formed by repeated float32 multiplication (the reference's recipe), divided by
// freq_div[i] when freq_div is not empty, then multiplied by freq_scale (linear scaling).
// Writes D/2 cosines and sines.
void rope_angles(int pos, int head_dim, float base, std::span<const float> freq_div, float* cos,
                 float* sin, float freq_scale = 1.0f);

// Rotates n_heads heads of D values in place with the angles of rope_angles().
void rope_apply(float* x, int n_heads, int head_dim, RopeStyle style, const float* cos,
                const float* sin);

// Softmax of x[0..n) in place: exp(x − max) summed in double, then scaled by 1/sum.
void softmax(float* x, int n);

// silu(g) · u, element-wise over n values, into out.
void swiglu(const float* g, const float* u, float* out, int n);

// gelu(g) · u, element-wise over n values, into out, with the tanh form of GELU:
//   gelu(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))).
// f16_table: as llama.cpp's CPU backend computes it (what its references hold): x is rounded to
// F16 and looked up in a table of gelu over every F16 value, itself rounded to F16 (x <= -10
// gives 0 and x >= 10 gives x). The difference from the exact form is up to ~1e-3 in the logits.
void geglu(const float* g, const float* u, float* out, int n, bool f16_table);

// One query head against n cached positions of its KV head:
//   out[D] = Σ_j softmax_j(scale · q·k_j) v_j
// k and v are rows of `stride` floats (the KV head's values start at the row's offset given by
// the caller's pointers); `scores` has room for n values.
void attend(const float* q, const float* k, const float* v, int n, int head_dim, int stride,
            float scale, float* scores, float* out);

// The cached K and V rows of one KV head of one sequence, read in place in the cache.
struct KvHead {
  const void* k = nullptr;     // row of cell c at c·stride bytes, already at the head's offset
  const void* v = nullptr;
  KvType type = KvType::f32;
  int64_t stride = 0;          // bytes from one cell's row to the next
  const int* cells = nullptr;  // the sequence's cells, in position order
};

// Grouped-query attention of nq query rows sharing one KV head (any number: the n_rep heads of
// one or several tokens of the sequence), each over its own run of the cells:
//   out_i = Σ_{lo_i ≤ j < hi_i} softmax_j(scale · q_i·k_j) v_j
// through the kernel set's tiled attention (kernels/attention.h): K and V are read a tile at a
// time, widened once per tile for all rows, with an online softmax. Rows are taken
// kernels::kAttentionMaxRows at a time. A row's result depends only on its query and its run.
// Allocates nothing after the first calls on a thread (scratch is per thread).
void attend_rows(const float* const* q, float* const* out, const int* lo, const int* hi, int nq,
                 int head_dim, const KvHead& kv, float scale, kernels::KernelSet set);

}  // namespace hearth::model
