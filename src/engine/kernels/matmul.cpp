// Matrix products with weight matrices (see matmul.h).
//
// Work split: the n_out weight rows are cut into chunks handed to the pool; each output value
// y[t][r] is computed by exactly one call with the same arithmetic whatever the chunking, so
// results do not depend on the number of threads. With n_tokens >= kGemmMinTokens, types the
// kernel set has a GEMM for go to gemm() (gemm.h) instead of the vec_dot loops below.
#include "engine/kernels/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "engine/kernels/gemm.h"

namespace hearth::kernels {

namespace {

const TypeOps& ops_or_throw(TensorType type, KernelSet set) {
  const TypeOps* ops = type_ops(type, set);
  if (!ops) {
    throw Error(ErrorKind::unsupported, "tensor type " + std::string(gguf::tensor_type_name(type)) +
                                            " is not supported by this build");
  }
  return *ops;
}

// Runs fn(begin, end) over [0, n) in chunks of at least `min_chunk`, on the pool if there is one.
template <typename Fn>
void for_chunks(ThreadPool* pool, int64_t n, int64_t min_chunk, const Fn& fn) {
  const int64_t workers = pool ? static_cast<int64_t>(pool->size()) : 1;  // caller included
  // A few chunks per thread evens out uneven progress without much scheduling overhead.
  const int64_t chunk = std::max(min_chunk, (n + 4 * workers - 1) / (4 * workers));
  const int64_t n_chunks = (n + chunk - 1) / chunk;
  if (!pool || n_chunks <= 1) {
    for (int64_t c = 0; c < n_chunks; ++c) fn(c * chunk, std::min(n, (c + 1) * chunk));
    return;
  }
  pool->parallel_for(static_cast<size_t>(n_chunks), [&](size_t c) {
    const auto begin = static_cast<int64_t>(c) * chunk;
    fn(begin, std::min(n, begin + chunk));
  });
}

// Weights dequantized row by row into F32 scratch, dotted with the F32 activations.
void matmul_exact(const WeightMatrix& w, const TypeOps& ops, const TypeOps& f32, const float* x,
                  int64_t n_tokens, float* y, ThreadPool* pool) {
  const size_t w_row = row_bytes(w.type, w.n_in);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for_chunks(pool, w.n_out, 4, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(w.type == TensorType::f32 ? 0 : static_cast<size_t>(w.n_in));
    for (int64_t r = begin; r < end; ++r) {
      const void* row = base + static_cast<size_t>(r) * w_row;
      if (!scratch.empty()) {
        ops.to_float(row, scratch.data(), w.n_in);
        row = scratch.data();
      }
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[t * w.n_out + r] = f32.vec_dot(w.n_in, row, x + t * w.n_in);
      }
    }
  });
}

// Activations converted once per token to the weights' vec_dot_type, then vec_dot per row; or,
// where the type has a multi-row kernel, converted further to its prepared layout and every
// weight row dotted with all tokens in one pass (kMultiDotRows at a time), the weight-side work
// shared. Each y[t][r] is computed the same way whatever n_tokens is (vec_dot_multi is
// bit-identical for every row count), which batch-invariant decoding relies on.
void matmul_quantized(const WeightMatrix& w, const TypeOps& ops, KernelSet set, const float* x,
                      int64_t n_tokens, float* y, ThreadPool* pool) {
  if (!ops.vec_dot) {
    throw Error(ErrorKind::unsupported, "tensor type " +
                                            std::string(gguf::tensor_type_name(w.type)) +
                                            " cannot be used as a weight matrix in this build");
  }
  const void* xq = x;
  size_t x_row = static_cast<size_t>(w.n_in) * sizeof(float);
  // Per-thread scratch, reused: a decode step converts hundreds of activation rows.
  // (Lambdas below must use `scratch`: a thread_local name refers to the running thread's own.)
  thread_local std::vector<uint8_t> converted;
  thread_local std::vector<uint8_t> prepared_rows;
  const bool multi = ops.vec_dot_multi != nullptr;
  if (ops.vec_dot_type != TensorType::f32) {
    const TypeOps& dot_ops = ops_or_throw(ops.vec_dot_type, set);
    HEARTH_ASSERT(dot_ops.from_float, "vec_dot_type without from_float");
    x_row = row_bytes(ops.vec_dot_type, w.n_in);
    if (converted.size() < x_row * static_cast<size_t>(n_tokens))
      converted.resize(x_row * static_cast<size_t>(n_tokens));
    uint8_t* scratch = converted.data();
    for_chunks(pool, n_tokens, 1, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        dot_ops.from_float(x + t * w.n_in, scratch + static_cast<size_t>(t) * x_row, w.n_in);
      }
    });
    xq = scratch;
  }
  if (multi && ops.multi_prepare) {
    HEARTH_ASSERT(ops.multi_row_bytes, "multi_prepare without multi_row_bytes");
    const size_t p_row = ops.multi_row_bytes(w.n_in);
    if (prepared_rows.size() < p_row * static_cast<size_t>(n_tokens))
      prepared_rows.resize(p_row * static_cast<size_t>(n_tokens));
    uint8_t* prepared = prepared_rows.data();
    const auto* from = static_cast<const uint8_t*>(xq);
    for (int64_t t = 0; t < n_tokens; ++t) {  // O(n_in) per token: not worth the pool
      ops.multi_prepare(from + static_cast<size_t>(t) * x_row,
                        prepared + static_cast<size_t>(t) * p_row, w.n_in);
    }
    xq = prepared;
    x_row = p_row;
  }
  const size_t w_row = row_bytes(w.type, w.n_in);
  const auto* wbase = static_cast<const uint8_t*>(w.data);
  const auto* xbase = static_cast<const uint8_t*>(xq);
  if (multi) {
    for_chunks(pool, w.n_out, 4, [&](int64_t begin, int64_t end) {
      float out[kMultiDotRows];
      for (int64_t r = begin; r < end; ++r) {
        const void* row = wbase + static_cast<size_t>(r) * w_row;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kMultiDotRows) {
          const int nx = static_cast<int>(std::min<int64_t>(kMultiDotRows, n_tokens - t0));
          ops.vec_dot_multi(w.n_in, row, xbase + static_cast<size_t>(t0) * x_row, x_row, nx, out);
          for (int k = 0; k < nx; ++k) y[(t0 + k) * w.n_out + r] = out[k];
        }
      }
    });
    return;
  }
  for_chunks(pool, w.n_out, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const void* row = wbase + static_cast<size_t>(r) * w_row;
      for (int64_t t = 0; t < n_tokens; ++t) {
        y[t * w.n_out + r] = ops.vec_dot(w.n_in, row, xbase + static_cast<size_t>(t) * x_row);
      }
    }
  });
}

}  // namespace

MatmulOptions default_matmul_options(ThreadPool* pool) {
  MatmulOptions options;
  options.pool = pool;
  options.kernels = active_kernel_set();
  const bool reference_asked = config::get("HEARTH_KERNELS") == "reference";
  options.arithmetic = reference_asked ? Arithmetic::exact_f32 : Arithmetic::quantized_activations;
  return options;
}

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y,
            const MatmulOptions& options) {
  HEARTH_ASSERT(w.n_in >= 0 && w.n_out >= 0 && n_tokens >= 0, "negative matmul dimension");
  const TypeOps& ops = ops_or_throw(w.type, options.kernels);
  if (w.n_out == 0 || n_tokens == 0) return;
  // Many tokens: the blocked GEMM where the set has one for this type (same arithmetic).
  const bool many = options.path == MatmulOptions::Path::many_tokens ||
                    (options.path == MatmulOptions::Path::by_size && n_tokens >= kGemmMinTokens);
  if (many && gemm_supported(w.type, options)) {
    gemm(w, x, n_tokens, y, options);
    return;
  }
  if (w.type == TensorType::f32 || options.arithmetic == Arithmetic::exact_f32) {
    const TypeOps& f32 = ops_or_throw(TensorType::f32, options.kernels);
    matmul_exact(w, ops, f32, x, n_tokens, y, options.pool);
  } else {
    matmul_quantized(w, ops, options.kernels, x, n_tokens, y, options.pool);
  }
}

void dequantize_row(const WeightMatrix& w, int64_t row, float* out) {
  HEARTH_ASSERT(row >= 0 && row < w.n_out, "dequantize_row: row out of range");
  // Dequantization is exact in every kernel set, so the reference row serves all of them.
  const TypeOps& ops = ops_or_throw(w.type, KernelSet::reference);
  const size_t offset = static_cast<size_t>(row) * row_bytes(w.type, w.n_in);
  ops.to_float(static_cast<const uint8_t*>(w.data) + offset, out, w.n_in);
}

}  // namespace hearth::kernels
