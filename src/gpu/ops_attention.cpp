// Commands' KV cache and mixture-of-experts operations: kv_store, attention, route_experts,
// combine_experts (one dispatch each, shaders of the same name).
#include <string>

#include "core/error.h"
#include "gpu/recorder.h"

namespace hearth::gpu {

namespace {

constexpr uint64_t kWG = 64;         // invocations per workgroup (shaders/common.glsl)
constexpr int kMaxHeadDim = 512;     // attention.comp's MAX_D
constexpr int kMaxExperts = 256;     // route_experts.comp's MAX_EXPERT
constexpr int kMaxExpertsUsed = 64;  // route_experts.comp's MAX_K

uint64_t groups_for(int64_t items) {
  return (static_cast<uint64_t>(items) + kWG - 1) / kWG;
}
uint64_t floats(int64_t n) {
  return static_cast<uint64_t>(n) * 4;
}

// Rows of F16 cells are written and read as whole words: even counts, 4-byte strides.
void check_cache_rows(const char* op, int64_t row_stride, int64_t n_values, KvCells type) {
  const bool f16 = type == KvCells::f16;
  if (row_stride % 4 != 0 || (f16 && n_values % 2 != 0))
    throw Error(ErrorKind::unsupported, std::string("GPU ") + op + ": cache rows of " +
                                            std::to_string(row_stride) + " bytes with " +
                                            std::to_string(n_values) + (f16 ? " F16" : " F32") +
                                            " values are not whole 32-bit words");
}

}  // namespace

void Commands::kv_store(Span src, int64_t src_stride, Span cells, int64_t T, int n_kv_dim,
                        Span cache, int64_t row_stride, KvCells type) {
  if (T <= 0 || n_kv_dim <= 0) return;
  check_cache_rows("kv_store", row_stride, n_kv_dim, type);
  need_bytes(src, floats((T - 1) * src_stride + n_kv_dim), "kv_store", "src");
  need_bytes(cells, floats(T), "kv_store", "cells");
  const bool f16 = type == KvCells::f16;
  const int64_t per_row = f16 ? n_kv_dim / 2 : n_kv_dim;
  state_->dispatch(
      "kv_store", {src, cells, cache},
      Params().u(T * per_row).u(per_row).u(src_stride).u(row_stride / 4).u(f16 ? 1 : 0),
      groups_for(T * per_row));
}

void Commands::attention(Span q, Span out, int64_t T, int n_head, int n_head_kv, int head_dim,
                         float scale, Span k_cache, Span v_cache, int64_t row_stride, KvCells type,
                         Span cells, Span base, Span lo, Span hi) {
  if (T <= 0) return;
  if (n_head <= 0 || n_head_kv <= 0 || n_head % n_head_kv != 0)
    throw Error(ErrorKind::invalid_input, "GPU attention: " + std::to_string(n_head) +
                                              " query heads over " + std::to_string(n_head_kv) +
                                              " KV heads");
  if (head_dim <= 0 || head_dim > kMaxHeadDim)
    throw Error(ErrorKind::unsupported, "GPU attention: head_dim " + std::to_string(head_dim) +
                                            " (at most " + std::to_string(kMaxHeadDim) + ")");
  check_cache_rows("attention", row_stride, head_dim, type);
  const int64_t Q = int64_t{n_head} * head_dim;
  need_bytes(q, floats(T * Q), "attention", "q");
  need_bytes(out, floats(T * Q), "attention", "out");
  need_bytes(base, floats(T), "attention", "base");
  need_bytes(lo, floats(T), "attention", "lo");
  need_bytes(hi, floats(T), "attention", "hi");
  Params params;
  params.u(n_head)
      .u(n_head_kv)
      .u(head_dim)
      .u(row_stride / 4)
      .u(type == KvCells::f16 ? 1 : 0)
      .f(scale);
  state_->dispatch("attention", {q, out, k_cache, v_cache, cells, base, lo, hi}, params,
                   static_cast<uint64_t>(T * n_head));
}

void Commands::route_experts(Span logits, int64_t T, int n_expert, int K, Span ids, Span weights) {
  if (T <= 0) return;
  if (n_expert <= 0 || n_expert > kMaxExperts || K <= 0 || K > n_expert || K > kMaxExpertsUsed)
    throw Error(ErrorKind::unsupported, "GPU route_experts: " + std::to_string(K) + " of " +
                                            std::to_string(n_expert) + " experts (at most " +
                                            std::to_string(kMaxExpertsUsed) + " of " +
                                            std::to_string(kMaxExperts) + ")");
  need_bytes(logits, floats(T * n_expert), "route_experts", "logits");
  need_bytes(ids, floats(T * K), "route_experts", "ids");
  need_bytes(weights, floats(T * K), "route_experts", "weights");
  state_->dispatch("route_experts", {logits, ids, weights}, Params().u(n_expert).u(K),
                   static_cast<uint64_t>(T));
}

void Commands::combine_experts(Span y, Span weights, int64_t T, int K, int n, Span out) {
  if (T <= 0 || K <= 0 || n <= 0) return;
  need_bytes(y, floats(T * K * n), "combine_experts", "y");
  need_bytes(weights, floats(T * K), "combine_experts", "weights");
  need_bytes(out, floats(T * n), "combine_experts", "out");
  state_->dispatch("combine_experts", {y, weights, out}, Params().u(T * n).u(K).u(n),
                   groups_for(T * n));
}

}  // namespace hearth::gpu
