// Per-type tensor kernels: the one place that knows how each GGML block type is laid out and
// how to compute with it (DESIGN.md §2: "a plain scalar reference for every tensor type first,
// then SIMD versions chosen at run time through a per-type table").
//
// For each type a TypeOps row holds:
//   to_float   blocks -> float (exact dequantization, bit-identical to the file format's meaning)
//   from_float float -> blocks for the activation types Q8_0, Q8_1, Q8_K, F16, BF16, F32 (null
//              for the others; weights are written with `quantize` below)
//   vec_dot    Σ w[i]·x[i] over n values, w in this type and x already converted to vec_dot_type,
//              accumulated in F32 (the arithmetic llama.cpp's CPU backend uses, so results match
//              the conformance references)
//   quantize   float -> blocks as a weight (`hearth quantize`, engine/quantize/quantize.h): the
//              algorithms of llama-quantize without an importance matrix; null for the types
//              hearth cannot write. The same in every kernel set (scalar code).
// n is always a multiple of the type's block size.
//
// Optional, for the one-token matmul path (several sequences decoding together, each with one
// token): vec_dot_multi computes the dot products of one weight row with nx activation rows at
// once, doing the weight-side work (unpacking, weight scales) once per block for all of them.
// Its activation rows are in a kernel-specific prepared layout of multi_row_bytes(n) bytes each,
// made from vec_dot_type rows by multi_prepare, once per matmul call. Every row's result is
// bit-identical whatever nx is and wherever the row sits among the nx (each row has its own
// accumulators and the same operation sequence), so a sequence's logits do not depend on how
// many others share its decode step.
//
// Optional, for the blocked GEMM of many tokens (gemm.h; the avx2 and avx512 sets): the job kernel
// of the type's family, the number of tokens its vectors hold and, for the integer family, how
// gemm.cpp lays out the activations for it.
//
// Kernel sets: `reference` is the portable scalar code and stays the yardstick; `avx2` (AVX2 +
// FMA + F16C) and `avx512` (AVX-512 F/BW/VL, VNNI where present) override the rows they speed
// up; avx2 falls back to the reference for the rest, avx512 to the avx2 rows (simd_tables.h).
// Tests compare every SIMD row with the reference on random blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "engine/gguf/tensor_type.h"

namespace hearth::kernels {

using gguf::TensorType;

enum class KernelSet { reference, avx2, avx512 };

std::string_view kernel_set_name(KernelSet set);
bool kernel_set_available(KernelSet set);  // the CPU (and OS) support it
// The best available set, or the one named by HEARTH_KERNELS (auto | reference | avx2 | avx512);
// Error(invalid_input) if the named set is unknown or not available on this CPU. Read once.
KernelSet active_kernel_set();

// One GEMM job of a float weight type (F32, F16, BF16): rows weight rows from w × every token;
// xp: activations [k][lanes] F32 per token vector, in tiles (gemm.cpp, Panel); scratch: the
// job's (gemm.cpp sizes it).
using GemmFloatJob = void (*)(TensorType type, const void* w, size_t row_bytes, int64_t n_in,
                              int64_t rows, const float* xp, int64_t n_tv, float* y,
                              int64_t n_out, int64_t n_tokens, float* scratch);
// One GEMM job of an integer weight type against Q8_0 / Q8_K activations: xc codes, and per
// block of GemmQuantLayout::block values xd scales, xi offsets, xm minimum terms.
using GemmQuantJob = void (*)(const void* w, size_t row_bytes, int64_t n_in, int64_t rows,
                              const int32_t* xc, const float* xd, const int32_t* xi,
                              const float* xm, int64_t n_tv, float* y, int64_t n_out,
                              int64_t n_tokens, void* scratch);
struct GemmQuantLayout {
  int block = 32;       // values per weight scale (16 for Q6_K)
  int32_t offset = 0;   // the weight codes' stored offset (128 Q8_0, 8 Q4_0, 32 Q6_K; 0: none)
  bool mins = false;    // blocks have a minimum term (Q4_K, Q5_K)
};

struct TypeOps {
  TensorType type;
  TensorType vec_dot_type;
  void (*to_float)(const void* blocks, float* out, int64_t n) = nullptr;
  void (*from_float)(const float* in, void* blocks, int64_t n) = nullptr;
  float (*vec_dot)(int64_t n, const void* w, const void* x) = nullptr;
  void (*quantize)(const float* in, void* blocks, int64_t n) = nullptr;
  size_t (*multi_row_bytes)(int64_t n) = nullptr;
  void (*multi_prepare)(const void* x, void* prepared, int64_t n) = nullptr;
  // out[t] = Σ w·x_t for the rows x_t = x + t·x_stride (prepared layout), t < nx (any nx ≥ 1).
  void (*vec_dot_multi)(int64_t n, const void* w, const void* x, size_t x_stride, int nx,
                        float* out) = nullptr;
  GemmFloatJob gemm_float_job = nullptr;
  GemmQuantJob gemm_quant_job = nullptr;
  int gemm_lanes = 0;  // tokens per token vector of the job above (16 AVX-512, 8 AVX2)
  GemmQuantLayout gemm_quant{};
};

// How many activation rows a vec_dot_multi kernel handles in one pass over the weight row (larger
// nx are done in groups of this many; results do not depend on the grouping).
inline constexpr int kMultiDotRows = 4;

// The row for `type` in `set`, or nullptr when hearth cannot compute with that type.
const TypeOps* type_ops(TensorType type, KernelSet set);
// The types with a weight quantizer (TypeOps::quantize), in type id order.
std::span<const TensorType> quantizable_types();
// Bytes of n values of `type` (n a multiple of its block size).
size_t row_bytes(TensorType type, int64_t n);

}  // namespace hearth::kernels
