// vec_dot throughput per tensor type and kernel set: one thread, a 4096-wide activation row
// against 1024 weight rows of 4096 values (the shape of a matmul with one token). Reported as
// bytes_per_second of weight bytes read. Sets this CPU lacks are reported as skipped.
//   ./kernels_bench --benchmark_filter=Q4_K
// one_token/TYPE/SET/N: kernels::matmul's one-token path (several sequences decoding together)
// for a 2048×2048 matrix and N tokens, one thread, items = tokens; vec_dot_xN/...: the same
// products as N separate vec_dot calls per row (what the path cost before vec_dot_multi).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"

namespace {

using hearth::kernels::KernelSet;
using hearth::kernels::TensorType;
using T = TensorType;

constexpr int64_t kWidth = 4096;
constexpr int64_t kRows = 1024;

struct Data {
  std::vector<uint8_t> w;  // kRows rows of `type`
  std::vector<uint8_t> x;  // one row of vec_dot_type
};

// Weights: random floats quantized where the type has a quantizer, else random bytes with sane
// F16 scales via the reference dequantize-free route: any bit pattern works for throughput, so
// random bytes are used and the F16 fields are left random (NaN/inf do not change timing).
Data make_data(T type) {
  const auto* ref = hearth::kernels::type_ops(type, KernelSet::reference);
  const auto* act = hearth::kernels::type_ops(ref->vec_dot_type, KernelSet::reference);
  std::mt19937 gen(42);
  std::normal_distribution<float> normal(0.f, 1.f);
  Data d;
  const size_t row = hearth::kernels::row_bytes(type, kWidth);
  d.w.resize(row * kRows);
  if (ref->from_float) {
    std::vector<float> f(kWidth);
    for (int64_t r = 0; r < kRows; ++r) {
      for (auto& v : f) v = normal(gen);
      ref->from_float(f.data(), d.w.data() + r * row, kWidth);
    }
  } else {
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : d.w) b = static_cast<uint8_t>(byte(gen));
  }
  std::vector<float> xf(kWidth);
  for (auto& v : xf) v = normal(gen);
  d.x.resize(hearth::kernels::row_bytes(ref->vec_dot_type, kWidth));
  act->from_float(xf.data(), d.x.data(), kWidth);
  return d;
}

void bench_vec_dot(benchmark::State& state, T type, KernelSet set) {
  if (!hearth::kernels::kernel_set_available(set)) {
    state.SkipWithError("kernel set not available on this CPU");
    return;
  }
  const auto* ops = hearth::kernels::type_ops(type, set);
  const Data d = make_data(type);
  const size_t row = hearth::kernels::row_bytes(type, kWidth);
  for (auto _ : state) {
    float sum = 0;
    for (int64_t r = 0; r < kRows; ++r)
      sum += ops->vec_dot(kWidth, d.w.data() + r * row, d.x.data());
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(d.w.size()));
}

constexpr int64_t kSquare = 2048;

struct Square {
  std::vector<uint8_t> w;  // kSquare rows of `type`
  std::vector<float> x;    // n_tokens rows of F32
};

Square make_square(T type, int64_t n_tokens) {
  const auto* ref = hearth::kernels::type_ops(type, KernelSet::reference);
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> byte(0, 255);
  Square s;
  const size_t row = hearth::kernels::row_bytes(type, kSquare);
  s.w.resize(row * kSquare);
  if (ref->from_float) {
    std::vector<float> f(kSquare);
    for (int64_t r = 0; r < kSquare; ++r) {
      for (auto& v : f) v = normal(gen);
      ref->from_float(f.data(), s.w.data() + r * row, kSquare);
    }
  } else {
    for (auto& b : s.w) b = static_cast<uint8_t>(byte(gen));
    // Finite F16 scales keep the arithmetic ordinary: set every block's F16 fields to 0.01.
    const auto& t = hearth::gguf::traits(type);
    const size_t blocks = s.w.size() / t.type_size;
    const size_t d_offset = type == T::q6_k ? 208 : 0;  // Q6_K keeps d at the end
    for (size_t b = 0; b < blocks; ++b) {
      s.w[b * t.type_size + d_offset] = 0x1f;  // F16 0x211f ≈ 0.0101
      s.w[b * t.type_size + d_offset + 1] = 0x21;
    }
  }
  s.x.resize(static_cast<size_t>(kSquare * n_tokens));
  for (auto& v : s.x) v = normal(gen);
  return s;
}

void bench_one_token(benchmark::State& state, T type, KernelSet set, int64_t n_tokens) {
  if (!hearth::kernels::kernel_set_available(set)) {
    state.SkipWithError("kernel set not available on this CPU");
    return;
  }
  const Square s = make_square(type, n_tokens);
  const hearth::kernels::WeightMatrix w{type, s.w.data(), kSquare, kSquare};
  hearth::kernels::MatmulOptions o;
  o.kernels = set;
  o.arithmetic = hearth::kernels::Arithmetic::quantized_activations;
  o.path = hearth::kernels::MatmulOptions::Path::one_token;
  std::vector<float> y(static_cast<size_t>(kSquare * n_tokens));
  for (auto _ : state) {
    hearth::kernels::matmul(w, s.x.data(), n_tokens, y.data(), o);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n_tokens);
}

void bench_vec_dot_n(benchmark::State& state, T type, KernelSet set, int64_t n_tokens) {
  if (!hearth::kernels::kernel_set_available(set)) {
    state.SkipWithError("kernel set not available on this CPU");
    return;
  }
  const auto* ops = hearth::kernels::type_ops(type, set);
  const auto* act = hearth::kernels::type_ops(ops->vec_dot_type, set);
  const Square s = make_square(type, n_tokens);
  const size_t x_row = hearth::kernels::row_bytes(ops->vec_dot_type, kSquare);
  std::vector<uint8_t> xq(x_row * static_cast<size_t>(n_tokens));
  const size_t row = hearth::kernels::row_bytes(type, kSquare);
  std::vector<float> y(static_cast<size_t>(kSquare * n_tokens));
  for (auto _ : state) {
    for (int64_t t = 0; t < n_tokens; ++t)
      act->from_float(s.x.data() + t * kSquare, xq.data() + t * x_row, kSquare);
    for (int64_t r = 0; r < kSquare; ++r) {
      for (int64_t t = 0; t < n_tokens; ++t)
        y[t * kSquare + r] = ops->vec_dot(kSquare, s.w.data() + r * row, xq.data() + t * x_row);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * n_tokens);
}

}  // namespace

int main(int argc, char** argv) {
  const T types[] = {T::f32,  T::f16,    T::bf16, T::q8_0, T::q4_0, T::q4_1, T::q5_0,
                     T::q5_1, T::iq4_nl, T::q2_k, T::q3_k, T::q4_k, T::q5_k, T::q6_k};
  for (T type : types) {
    for (KernelSet set : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512}) {
      const std::string name = "vec_dot/" + std::string(hearth::gguf::tensor_type_name(type)) +
                               "/" + std::string(hearth::kernels::kernel_set_name(set));
      benchmark::RegisterBenchmark(name.c_str(), bench_vec_dot, type, set)
          ->Unit(benchmark::kMillisecond);
    }
  }
  for (T type : {T::q4_0, T::q8_0, T::q6_k, T::q4_k}) {
    for (KernelSet set : {KernelSet::avx2, KernelSet::avx512}) {
      for (int64_t n : {1, 2, 4}) {
        const std::string suffix = std::string(hearth::gguf::tensor_type_name(type)) + "/" +
                                   std::string(hearth::kernels::kernel_set_name(set)) + "/" +
                                   std::to_string(n);
        benchmark::RegisterBenchmark(("one_token/" + suffix).c_str(), bench_one_token, type, set, n)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("vec_dot_xN/" + suffix).c_str(), bench_vec_dot_n, type, set,
                                     n)
            ->Unit(benchmark::kMicrosecond);
      }
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
