// The operations of a forward pass on a GPU, recorded into one command buffer and run together.
//
// Every operation reads and writes F32 rows in device buffers (Span), except the weight matrices
// (GGUF block layout, uploaded as the file holds them and dequantized in the shader) and the KV
// cache (F32 or F16 rows). Operations run in the order recorded; each sees the results of the
// earlier ones (a barrier separates dispatches). Arithmetic is F32 throughout: results follow
// the ".dequant-f32" conformance references (weights dequantized exactly, F32 activations).
//
// A row's result depends only on that row's inputs, never on how many rows were recorded with it
// (each output value is reduced in a fixed order): batch-invariant decoding needs nothing more.
//
// Shapes: T rows (tokens), E = n_embd, D = head_dim, H / Hkv heads, Q = H·D, KV = Hkv·D.
// Strides and counts are in elements (floats), offsets inside Span in bytes.
#pragma once

#include <cstdint>

#include "engine/gguf/tensor_type.h"
#include "gpu/gpu.h"

namespace hearth::gpu {

using gguf::TensorType;

// Whether matmul() has a shader for the type: F32, F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K.
bool supports(TensorType type);

// A weight matrix in a device buffer: n_out rows of row_bytes(type, n_in) bytes (GGML [n_in, n_out]).
struct Matrix {
  Span data;
  TensorType type = TensorType::f32;
  int64_t n_in = 0;
  int64_t n_out = 0;
};

enum class Rope { normal, neox };  // pairs (2i, 2i+1), or (i, i + D/2)
enum class KvCells { f32, f16 };   // the KV cache's row type on the device

class Commands {
 public:
  explicit Commands(Device& device);
  ~Commands();
  Commands(const Commands&) = delete;
  Commands& operator=(const Commands&) = delete;

  // y (T×n_out) = W x (T×n_in): y[t][r] = Σ_c W[r][c]·x[t][c].
  void matmul(const Matrix& w, Span x, int64_t T, Span y);

  // Mixture of experts: n_expert matrices of one shape stored one after another
  // (`expert_stride` bytes apart, the first at w.data). For every slot s = t·K + k:
  //   y[s] (n_out) = W[ids[s]] x[t]   (x row t shared by the K slots of token t)
  // ids: T·K int32 expert numbers. y: T·K rows.
  void matmul_experts(const Matrix& w, uint64_t expert_stride, Span x, Span ids, int64_t T, int K,
                      Span y);

  // out[r][i] = x[r][i] / sqrt(mean_i(x[r][i]²) + eps) · weight[i], rows of n values; out may be x.
  void rmsnorm(Span x, Span weight, Span out, int64_t rows, int n, float eps);

  // Rotates, in place, n_heads heads of D values at the start of each of T rows of `row_stride`
  // floats, with angles for pair i of row t from cos[t·D/2 + i], sin[t·D/2 + i] (computed on the
  // CPU by model::rope_angles): (a, b) → (a·cos − b·sin, a·sin + b·cos).
  void rope(Span x, int64_t T, int n_heads, int head_dim, int64_t row_stride, Rope style, Span cos,
            Span sin);

  // out[i] = a[i] + b[i] for n values; out may be a or b.
  void add(Span a, Span b, Span out, int64_t n);
  // x[t][i] += bias[i], T rows of `stride` floats, n bias values.
  void add_bias(Span x, Span bias, int64_t T, int n, int64_t stride);
  // y[t][i] += scale · mask[t] · x[t][i], T rows of n values; mask: T floats (a LoRA term's
  // rows: 1 for rows whose adapter has it, 0 for others).
  void add_scaled_rows(Span y, Span x, Span mask, int64_t T, int64_t n, float scale);
  // dst[t][i] = src[t][i] for i < n: T rows, `src_stride` and `dst_stride` floats apart.
  void copy_rows(Span src, int64_t src_stride, Span dst, int64_t dst_stride, int64_t T, int64_t n);

  // out[t][i] = act(g[t][i]) · u[t][i], T rows of F values; g and u rows `in_stride` floats apart
  // (2F for a fused gate+up row with u = g + F floats), out rows F apart.
  // act: SiLU x/(1+e^−x), or GELU in the tanh form 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
  void swiglu(Span g, Span u, Span out, int64_t T, int F, int64_t in_stride);
  void geglu(Span g, Span u, Span out, int64_t T, int F, int64_t in_stride);

  // Writes T rows of n_kv_dim values from src (rows `src_stride` floats apart) into the cache:
  // row t goes to cell cells[t] (T int32) at cache + cells[t]·row_stride bytes, as F32 or F16
  // (rounded to nearest even).
  void kv_store(Span src, int64_t src_stride, Span cells, int64_t T, int n_kv_dim, Span cache,
                int64_t row_stride, KvCells type);

  // Grouped-query attention over the cache, per token t and query head h (KV head g = h / (H/Hkv)):
  //   out[t][h·D..] = Σ_{lo[t] ≤ j < hi[t]} softmax_j(scale · q·k_j) v_j
  // with k_j, v_j the rows of cell cells[base[t] + j] (head g's D values at g·D), F32 softmax.
  // q and out: T rows of Q floats. cells: int32, each sequence's cell list; base, lo, hi: T int32.
  void attention(Span q, Span out, int64_t T, int n_head, int n_head_kv, int head_dim, float scale,
                 Span k_cache, Span v_cache, int64_t row_stride, KvCells type, Span cells, Span base,
                 Span lo, Span hi);

  // MoE routing per token: softmax of logits[t] (n_expert values), the top K (ties: lower expert
  // first), their probabilities renormalised to sum 1. ids: T·K int32, weights: T·K floats.
  void route_experts(Span logits, int64_t T, int n_expert, int K, Span ids, Span weights);
  // out[t][i] = Σ_k weights[t·K + k] · y[(t·K + k)][i], in rank order, rows of n values.
  void combine_experts(Span y, Span weights, int64_t T, int K, int n, Span out);

  // Submits what was recorded, waits for it, and starts a new empty recording.
  void run();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace hearth::gpu
