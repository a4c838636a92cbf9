// vec_dot throughput per tensor type and kernel set: one thread, a 4096-wide activation row
// against 1024 weight rows of 4096 values (the shape of a matmul with one token). Reported as
// bytes_per_second of weight bytes read. Sets this CPU lacks are reported as skipped.
//   ./kernels_bench --benchmark_filter=Q4_K
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "engine/kernels/kernels.h"

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
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
