// Matrix × 128 tokens (prompt processing): the old per-(row, token) vec_dot loop against the
// blocked GEMM (src/engine/kernels/gemm.h), avx512 set (names as below) and avx2 set (names
// prefixed "avx2/"), 1 and 2 threads, per weight type and for the shapes of a Llama-3.2-1B layer
// (n_out × n_in = 2048 × 2048, 8192 × 2048, 2048 × 8192).
// Counters: GFLOP/s (2·n_in·n_out·tokens per run) and pp128_tps, the prompt tokens per second
// that rate implies for a 1B model (≈ 1.24e9 weights, 2 FLOP each per token).
//   ./gemm_bench --benchmark_filter='Q4_0/8192'    ./gemm_bench --benchmark_filter='^avx2/'
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/gguf/tensor_type.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/gemm.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"

namespace {

namespace k = hearth::kernels;
using T = k::TensorType;

constexpr int64_t kTokens = 128;
constexpr double kModelWeights = 1.24e9;

struct Data {
  std::vector<uint8_t> w;
  std::vector<float> x;
};

// Random weights with sane scales (no NaN / inf / denormal fields), random activations.
Data make_data(T type, int64_t n_in, int64_t n_out) {
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  const auto* ref = k::type_ops(type, k::KernelSet::reference);
  const size_t row = k::row_bytes(type, n_in);
  Data d;
  d.w.resize(row * static_cast<size_t>(n_out));
  if (ref->from_float) {
    std::vector<float> f(static_cast<size_t>(n_in));
    for (int64_t r = 0; r < n_out; ++r) {
      for (auto& v : f) v = normal(gen) * 0.05f;
      ref->from_float(f.data(), d.w.data() + static_cast<size_t>(r) * row, n_in);
    }
  } else {
    for (auto& b : d.w) b = static_cast<uint8_t>(gen());
    const auto& tr = hearth::gguf::traits(type);
    const uint16_t scale = k::f32_to_f16(0.01f);
    size_t scale_at = 0, min_at = SIZE_MAX;
    if (type == T::q4_k || type == T::q5_k) min_at = 2;
    if (type == T::q6_k) scale_at = offsetof(k::block_q6_K, d);
    for (size_t b = 0; b < d.w.size(); b += tr.type_size) {
      std::memcpy(&d.w[b + scale_at], &scale, 2);
      if (min_at != SIZE_MAX) std::memcpy(&d.w[b + min_at], &scale, 2);
    }
  }
  d.x.resize(static_cast<size_t>(n_in * kTokens));
  for (auto& v : d.x) v = normal(gen);
  return d;
}

// The path matmul() took for many tokens before the GEMM: each token converted once, then
// vec_dot for every (row, token), rows split over the pool.
void vec_dot_loop(k::KernelSet set, T type, const Data& d, int64_t n_in, int64_t n_out, float* y,
                  hearth::ThreadPool* pool) {
  const auto* ops = k::type_ops(type, set);
  const auto* dot = k::type_ops(ops->vec_dot_type, set);
  const size_t x_row =
      ops->vec_dot_type == T::f32 ? n_in * sizeof(float) : k::row_bytes(ops->vec_dot_type, n_in);
  std::vector<uint8_t> xq(x_row * kTokens);
  if (ops->vec_dot_type == T::f32) {
    std::memcpy(xq.data(), d.x.data(), xq.size());
  } else {
    for (int64_t t = 0; t < kTokens; ++t) {
      dot->from_float(d.x.data() + t * n_in, xq.data() + t * x_row, n_in);
    }
  }
  const size_t w_row = k::row_bytes(type, n_in);
  const int64_t chunk = 16;
  auto run = [&](size_t c) {
    const int64_t r0 = static_cast<int64_t>(c) * chunk;
    for (int64_t r = r0; r < std::min(n_out, r0 + chunk); ++r) {
      for (int64_t t = 0; t < kTokens; ++t) {
        y[t * n_out + r] = ops->vec_dot(n_in, d.w.data() + r * w_row, xq.data() + t * x_row);
      }
    }
  };
  const auto n_chunks = static_cast<size_t>((n_out + chunk - 1) / chunk);
  if (pool) {
    pool->parallel_for(n_chunks, run);
  } else {
    for (size_t c = 0; c < n_chunks; ++c) run(c);
  }
}

void bench(benchmark::State& state, k::KernelSet set, T type, int64_t n_out, int64_t n_in,
           int threads, bool use_gemm) {
  const k::MatmulOptions probe{set, k::Arithmetic::quantized_activations, nullptr};
  if (!k::kernel_set_available(set) || !k::gemm_supported(type, probe)) {
    state.SkipWithError("no GEMM of this kernel set for this type on this CPU");
    return;
  }
  const Data d = make_data(type, n_in, n_out);
  std::unique_ptr<hearth::ThreadPool> pool;
  if (threads > 1) pool = std::make_unique<hearth::ThreadPool>(threads);  // caller included
  const k::MatmulOptions options{set, k::Arithmetic::quantized_activations, pool.get()};
  std::vector<float> y(static_cast<size_t>(n_out * kTokens));
  const k::WeightMatrix w{type, d.w.data(), n_in, n_out};
  for (auto _ : state) {
    if (use_gemm) {
      k::gemm(w, d.x.data(), kTokens, y.data(), options);
    } else {
      vec_dot_loop(set, type, d, n_in, n_out, y.data(), pool.get());
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(n_in * n_out * kTokens);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pp128_tps"] =
      benchmark::Counter(flops / (2.0 * kModelWeights), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  const T types[] = {T::f16, T::q8_0, T::q4_0, T::q4_k, T::q6_k, T::q5_k, T::bf16, T::f32};
  const int64_t shapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
  for (k::KernelSet set : {k::KernelSet::avx512, k::KernelSet::avx2}) {
    const std::string prefix = set == k::KernelSet::avx2 ? "avx2/" : "";
    for (T type : types) {
      for (const auto& s : shapes) {
        for (int threads : {1, 2}) {
          for (bool use_gemm : {false, true}) {
            const std::string name = prefix + std::string(hearth::gguf::tensor_type_name(type)) +
                                     "/" + std::to_string(s[0]) + "x" + std::to_string(s[1]) +
                                     "/" + (use_gemm ? "gemm" : "vec_dot_loop") + "/threads:" +
                                     std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), bench, set, type, s[0], s[1], threads,
                                         use_gemm)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime()
                ->MinTime(0.3);
          }
        }
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
