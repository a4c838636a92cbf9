// The blocked GEMM driver (see gemm.h): converts and transposes the activations once, cuts the
// weight rows into jobs for the pool, and runs the set's job kernels (gemm_*_avx512.cpp,
// gemm_*_avx2.cpp).
//
// Compiled for the baseline ISA: it only calls the job kernels of the type's row (kernels.h)
// after checking that the options' kernel set is available on this CPU (the AVX-512 integer jobs
// are installed only on CPUs with VNNI; without it the avx512 set keeps the AVX2 ones). A row's
// gemm_lanes says how many tokens its job kernel takes per token vector (16 AVX-512, 8 AVX2).
#include "engine/kernels/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/reused_buffer.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/half.h"

namespace hearth::kernels {

namespace {

// Kept in step with the kernels: rows per job, and the job scratch they need besides the
// accumulator (float: 48 rows × 128 F32; integer: 48 rows × (256 codes + 2 × 16 F32)).
constexpr int64_t kGemmJobRows = 48;
constexpr size_t kFloatScratchFixed = kGemmJobRows * 128 * sizeof(float);
constexpr size_t kQuantScratchFixed = kGemmJobRows * (256 + 2 * 16 * sizeof(float));
// Token vectors per microkernel tile of the 16-lane (AVX-512) jobs (float: kNv in
// gemm_float_avx512.cpp; integer: kNv in gemm_quant_avx512.cpp). The 8-lane (AVX2) jobs read
// one tile of every token vector.
constexpr int64_t kFloatTile = 4;
constexpr int64_t kQuantTile = 2;

// The packed activations of one GEMM call: per tile of `tile` token vectors, `rows` rows (K
// values, groups of 4 codes or blocks) of tile·lanes values. A microkernel reads one tile row
// after another at consecutive addresses; with every token vector of a row side by side instead,
// the rows of a tile were n_tv·64 bytes apart, and at a few hundred tokens those strides put the
// whole tile in a handful of L1 cache sets.
struct Panel {
  int64_t rows = 0;
  int64_t tile = 1;
  int64_t n_tv = 0;
  int64_t lanes = 16;  // tokens per token vector

  // The panel of a job kernel with `lanes` lanes and tiles of `tile` token vectors (16 lanes).
  static Panel of(int64_t rows, int64_t lanes, int64_t tile, int64_t n_tv) {
    return {rows, lanes == 16 ? tile : n_tv, n_tv, lanes};
  }
  size_t tile_lanes() const { return static_cast<size_t>(tile * lanes); }
  size_t tiles() const { return static_cast<size_t>((n_tv + tile - 1) / tile); }
  size_t size() const { return tiles() * static_cast<size_t>(rows) * tile_lanes(); }
  // Offset of lane `lane` (token tv·lanes + l) of row i.
  size_t at(int64_t i, int64_t lane) const {
    const auto t = static_cast<size_t>(lane) / tile_lanes();
    return (t * static_cast<size_t>(rows) + static_cast<size_t>(i)) * tile_lanes() +
           static_cast<size_t>(lane) % tile_lanes();
  }
  // Zeroes the lanes after the last token in its token vector (read by the kernels, never used).
  template <typename T>
  void clear_tail(std::span<T> data, int64_t n_tokens) const {
    if (n_tokens % lanes == 0) return;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t lane = n_tokens; lane < n_tv * lanes; ++lane) data[at(i, lane)] = T{};
  }
};

enum class Family { none, floating, integer };

// The GEMM family of `type` from its row in the set's table (kernels.h: gemm_float_job,
// gemm_quant_job; the SIMD sets have them, the reference set none).
Family family(TensorType type, const MatmulOptions& options) {
  if (options.kernels == KernelSet::reference || !kernel_set_available(options.kernels)) {
    return Family::none;
  }
  const TypeOps* ops = type_ops(type, options.kernels);
  if (ops == nullptr) return Family::none;
  // F32 weights are computed the same in both arithmetics (their activations stay F32).
  const bool same_in_both = ops->vec_dot_type == TensorType::f32;
  if (!same_in_both && options.arithmetic != Arithmetic::quantized_activations) return Family::none;
  if (ops->gemm_float_job != nullptr) return Family::floating;
  if (ops->gemm_quant_job != nullptr) return Family::integer;
  return Family::none;
}

// Runs fn(i) for i in [0, n) on the pool if there is one.
template <typename Fn>
void for_each(ThreadPool* pool, int64_t n, const Fn& fn) {
  if (!pool || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  pool->parallel_for(static_cast<size_t>(n), [&](size_t i) { fn(static_cast<int64_t>(i)); });
}

// Per-thread job scratch, grown as needed (64-byte aligned).
void* job_scratch(size_t bytes) {
  thread_local std::vector<uint64_t> buffer;
  const size_t words = (bytes + 64) / sizeof(uint64_t);
  if (buffer.size() < words) buffer.resize(words);
  auto addr = reinterpret_cast<uintptr_t>(buffer.data());
  return reinterpret_cast<void*>((addr + 63) & ~uintptr_t{63});
}

void gemm_float(const WeightMatrix& w, const TypeOps& ops, KernelSet set, const float* x,
                int64_t n_tokens, float* y, ThreadPool* pool) {
  const int64_t n_in = w.n_in;
  // Tokens per token vector: 16 with AVX-512 jobs, 8 with AVX2 ones.
  const int64_t kLanes = ops.gemm_lanes;
  const int64_t n_tv = (n_tokens + kLanes - 1) / kLanes;
  // Activations rounded as vec_dot_type (F16 / BF16; F32 as is), transposed to [k][lanes] per
  // token vector, the token vectors of a tile side by side (Panel).
  const Panel panel = Panel::of(n_in, kLanes, kFloatTile, n_tv);
  // Kept from call to call (reused_buffer.h).
  std::span<float> xp = reused_buffer<float, BufferSlot::gemm_float_x>(panel.size());
  panel.clear_tail(xp, n_tokens);
  const TypeOps* dot = ops.vec_dot_type == TensorType::f32 ? nullptr : type_ops(ops.vec_dot_type, set);
  for_each(pool, n_tv, [&](int64_t tv) {
    std::vector<float> row(dot ? static_cast<size_t>(n_in) : 0);
    std::vector<uint8_t> conv(dot ? row_bytes(ops.vec_dot_type, n_in) : 0);
    for (int64_t l = 0; l < kLanes && tv * kLanes + l < n_tokens; ++l) {
      const float* src = x + (tv * kLanes + l) * n_in;
      if (dot) {
        dot->from_float(src, conv.data(), n_in);
        dot->to_float(conv.data(), row.data(), n_in);
        src = row.data();
      }
      float* dst = xp.data() + panel.at(0, tv * kLanes + l);
      for (int64_t k = 0; k < n_in; ++k) dst[static_cast<size_t>(k) * panel.tile_lanes()] = src[k];
    }
  });
  const size_t w_row = row_bytes(w.type, n_in);
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  const int64_t n_jobs = (w.n_out + kGemmJobRows - 1) / kGemmJobRows;
  const size_t scratch_bytes =
      kFloatScratchFixed + static_cast<size_t>(kGemmJobRows * n_tv * kLanes) * sizeof(float);
  for_each(pool, n_jobs, [&](int64_t j) {
    const int64_t r0 = j * kGemmJobRows;
    const int64_t rows = std::min(kGemmJobRows, w.n_out - r0);
    ops.gemm_float_job(w.type, wbase + static_cast<size_t>(r0) * w_row, w_row, n_in, rows,
                           xp.data(), n_tv, y + r0, w.n_out, n_tokens,
                           static_cast<float*>(job_scratch(scratch_bytes)));
  });
}

// Integer types: activations quantized by the set's Q8_0 / Q8_K from_float (as the vec_dot path),
// then laid out for the kernels (gemm_quant_*.cpp): codes [k/4][lanes] int32 per token vector,
// and per block of bk values [block][lanes], in tiles (Panel): scale xd, integer offset xi = −offset·Σq, minimum term
// xm = d·Σq (Q4_K, Q5_K).
void gemm_integer(const WeightMatrix& w, const TypeOps& ops, KernelSet set, const float* x,
                  int64_t n_tokens, float* y, ThreadPool* pool) {
  const int64_t n_in = w.n_in;
  const int64_t kLanes = ops.gemm_lanes;  // tokens per token vector
  const int64_t n_tv = (n_tokens + kLanes - 1) / kLanes;
  const TensorType type = w.type;
  const bool q8k = ops.vec_dot_type == TensorType::q8_k;
  const int64_t bk = ops.gemm_quant.block;
  const int32_t offset = ops.gemm_quant.offset;
  const bool mins = ops.gemm_quant.mins;
  const int64_t n_blocks = n_in / bk;
  const Panel codes = Panel::of(n_in / 4, kLanes, kQuantTile, n_tv);
  const Panel blocks_at = Panel::of(n_blocks, kLanes, kQuantTile, n_tv);
  // Kept from call to call (reused_buffer.h).
  std::span<int32_t> xc = reused_buffer<int32_t, BufferSlot::gemm_codes>(codes.size());
  std::span<float> xd = reused_buffer<float, BufferSlot::gemm_scales>(blocks_at.size());
  std::span<int32_t> xi =
      reused_buffer<int32_t, BufferSlot::gemm_offsets>(offset ? blocks_at.size() : 0);
  std::span<float> xm = reused_buffer<float, BufferSlot::gemm_mins>(mins ? blocks_at.size() : 0);
  codes.clear_tail(xc, n_tokens);
  blocks_at.clear_tail(xd, n_tokens);
  if (offset) blocks_at.clear_tail(xi, n_tokens);
  if (mins) blocks_at.clear_tail(xm, n_tokens);
  const TypeOps* dot = type_ops(ops.vec_dot_type, set);
  HEARTH_ASSERT(dot && dot->from_float, "gemm: activation type without from_float");
  for_each(pool, n_tv, [&](int64_t tv) {
    std::vector<uint8_t> q(row_bytes(ops.vec_dot_type, n_in));
    for (int64_t l = 0; l < kLanes && tv * kLanes + l < n_tokens; ++l) {
      const int64_t t = tv * kLanes + l;
      dot->from_float(x + t * n_in, q.data(), n_in);
      const int64_t lane = tv * kLanes + l;
      if (!q8k) {
        const auto* blocks = reinterpret_cast<const block_q8_0*>(q.data());
        for (int64_t b = 0; b < n_in / QK8_0; ++b) {
          int32_t sum = 0;
          for (int i = 0; i < QK8_0; ++i) sum += blocks[b].qs[i];
          xd[blocks_at.at(b, lane)] = f16_to_f32(blocks[b].d);
          if (offset) xi[blocks_at.at(b, lane)] = -offset * sum;
          for (int g = 0; g < QK8_0 / 4; ++g) {
            std::memcpy(&xc[codes.at(b * 8 + g, lane)], blocks[b].qs + 4 * g, 4);
          }
        }
        continue;
      }
      const auto* blocks = reinterpret_cast<const block_q8_K*>(q.data());
      for (int64_t s = 0; s < n_in / QK_K; ++s) {
        const block_q8_K& b = blocks[s];
        for (int g = 0; g < QK_K / 4; ++g) {
          std::memcpy(&xc[codes.at(s * 64 + g, lane)], b.qs + 4 * g, 4);
        }
        for (int64_t j = 0; j < QK_K / bk; ++j) {
          const size_t o = blocks_at.at(s * (QK_K / bk) + j, lane);
          xd[o] = b.d;
          if (bk == 16) {
            xi[o] = -offset * b.bsums[j];
          } else {
            const int32_t sum = b.bsums[2 * j] + b.bsums[2 * j + 1];
            if (offset) xi[o] = -offset * sum;
            if (mins) xm[o] = b.d * static_cast<float>(sum);
          }
        }
      }
    }
  });
  const size_t w_row = row_bytes(type, n_in);
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  const int64_t n_jobs = (w.n_out + kGemmJobRows - 1) / kGemmJobRows;
  const size_t scratch_bytes =
      kQuantScratchFixed + static_cast<size_t>(kGemmJobRows * n_tv * kLanes) * sizeof(float);
  for_each(pool, n_jobs, [&](int64_t j) {
    const int64_t r0 = j * kGemmJobRows;
    const int64_t rows = std::min(kGemmJobRows, w.n_out - r0);
    ops.gemm_quant_job(wbase + static_cast<size_t>(r0) * w_row, w_row, n_in, rows, xc.data(),
                       xd.data(), xi.empty() ? nullptr : xi.data(),
                       xm.empty() ? nullptr : xm.data(), n_tv, y + r0, w.n_out, n_tokens,
                       job_scratch(scratch_bytes));
  });
}

}  // namespace

bool gemm_supported(TensorType type, const MatmulOptions& options) {
  return family(type, options) != Family::none;
}

void gemm(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
          const MatmulOptions& options) {
  const Family f = family(w.type, options);
  HEARTH_ASSERT(f != Family::none, "gemm: unsupported type or options");
  if (w.n_out == 0 || n_tokens == 0) return;
  const TypeOps* ops = type_ops(w.type, options.kernels);
  HEARTH_ASSERT(ops, "gemm: type without kernels");
  if (f == Family::floating) {
    gemm_float(w, *ops, options.kernels, x, n_tokens, y, options.pool);
  } else {
    gemm_integer(w, *ops, options.kernels, x, n_tokens, y, options.pool);
  }
}

}  // namespace hearth::kernels
