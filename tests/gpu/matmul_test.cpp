// Commands::matmul against the CPU's kernels::matmul with exact F32 arithmetic (weights
// dequantized exactly, F32 activations), for every weight type with a shader, on random weights
// quantized with hearth's own quantizers.
#include <gtest/gtest.h>

#include "core/error.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/matmul.h"
#include "gpu_test_util.h"

namespace hearth::gpu::test {
namespace {

const TensorType kTypes[] = {TensorType::f32,  TensorType::f16,  TensorType::q8_0, TensorType::q4_0,
                             TensorType::q4_k, TensorType::q5_k, TensorType::q6_k};

// n_out rows of n_in random values, stored as `type`.
std::vector<uint8_t> random_matrix(TensorType type, int64_t n_in, int64_t n_out,
                                   std::mt19937& rng) {
  const size_t row = kernels::row_bytes(type, n_in);
  std::vector<uint8_t> out(row * static_cast<size_t>(n_out));
  for (int64_t r = 0; r < n_out; ++r) {
    const std::vector<float> v = random_floats(rng, static_cast<size_t>(n_in), 0.5f);
    uint8_t* dst = out.data() + row * static_cast<size_t>(r);
    if (type == TensorType::f32) {
      std::memcpy(dst, v.data(), row);
    } else if (type == TensorType::f16) {
      for (int64_t c = 0; c < n_in; ++c) {
        const uint16_t h = kernels::f32_to_f16(v[static_cast<size_t>(c)]);
        std::memcpy(dst + 2 * c, &h, 2);
      }
    } else {
      kernels::type_ops(type, kernels::KernelSet::reference)->quantize(v.data(), dst, n_in);
    }
  }
  return out;
}

std::vector<float> cpu_matmul(TensorType type, const std::vector<uint8_t>& w, int64_t n_in,
                              int64_t n_out, const std::vector<float>& x, int64_t T) {
  std::vector<float> y(static_cast<size_t>(T * n_out));
  kernels::MatmulOptions options;
  options.kernels = kernels::KernelSet::reference;
  options.arithmetic = kernels::Arithmetic::exact_f32;
  kernels::matmul({type, w.data(), n_in, n_out}, x.data(), T, y.data(), options);
  return y;
}

// Σ|w·x| per output: the scale of the rounding error of a dot product.
std::vector<float> magnitudes(TensorType type, const std::vector<uint8_t>& w, int64_t n_in,
                              int64_t n_out, const std::vector<float>& x, int64_t T) {
  std::vector<float> m(static_cast<size_t>(T * n_out));
  std::vector<float> row(static_cast<size_t>(n_in));
  for (int64_t r = 0; r < n_out; ++r) {
    kernels::dequantize_row({type, w.data(), n_in, n_out}, r, row.data());
    for (int64_t t = 0; t < T; ++t) {
      double s = 0;
      for (int64_t c = 0; c < n_in; ++c) s += std::fabs(row[c] * x[t * n_in + c]);
      m[t * n_out + r] = static_cast<float>(s);
    }
  }
  return m;
}

using GpuMatmul = GpuTest;

TEST_F(GpuMatmul, EveryTypeMatchesTheCpuWithExactF32Arithmetic) {
  std::mt19937 rng(7);
  for (TensorType type : kTypes) {
    const int64_t n_in = gguf::traits(type).block_size == 256 ? 512 : 96;
    const int64_t n_out = 67;  // not a multiple of anything the shader groups by
    const auto w = random_matrix(type, n_in, n_out, rng);
    for (int64_t T : {1, 3, 17}) {
      SCOPED_TRACE(std::string(gguf::tensor_type_name(type)) + " T=" + std::to_string(T));
      const auto x = random_floats(rng, static_cast<size_t>(T * n_in));
      const auto want = cpu_matmul(type, w, n_in, n_out, x, T);
      const auto mag = magnitudes(type, w, n_in, n_out, x, T);
      Span y = make(static_cast<size_t>(T * n_out));
      Commands commands(dev());
      commands.matmul({put(w), type, n_in, n_out}, put(x), T, y);
      commands.run();
      const auto got = get(y);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-4f * mag[i] + 1e-6f) << "output " << i;
    }
  }
}

TEST_F(GpuMatmul, FloatRowsOfAnyLength) {
  std::mt19937 rng(8);
  for (TensorType type : {TensorType::f32, TensorType::f16}) {
    for (int64_t n_in : {1, 33, 100, 257}) {
      SCOPED_TRACE(std::string(gguf::tensor_type_name(type)) + " n_in=" + std::to_string(n_in));
      const int64_t n_out = 5, T = 2;
      const auto w = random_matrix(type, n_in, n_out, rng);
      const auto x = random_floats(rng, static_cast<size_t>(T * n_in));
      const auto want = cpu_matmul(type, w, n_in, n_out, x, T);
      const auto mag = magnitudes(type, w, n_in, n_out, x, T);
      Span y = make(static_cast<size_t>(T * n_out));
      Commands commands(dev());
      commands.matmul({put(w), type, n_in, n_out}, put(x), T, y);
      commands.run();
      const auto got = get(y);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-4f * mag[i] + 1e-6f) << i;
    }
  }
}

TEST_F(GpuMatmul, ATokensResultDoesNotDependOnTheOtherTokens) {
  std::mt19937 rng(9);
  const TensorType type = TensorType::q4_k;
  const int64_t n_in = 256, n_out = 9, T = 17;
  const auto w = random_matrix(type, n_in, n_out, rng);
  const auto x = random_floats(rng, static_cast<size_t>(T * n_in));
  const Span ws = put(w);
  const Span xs = put(x);
  Span all = make(static_cast<size_t>(T * n_out));
  Commands commands(dev());
  commands.matmul({ws, type, n_in, n_out}, xs, T, all);
  std::vector<Span> single;
  for (int64_t t = 0; t < T; ++t) {
    single.push_back(make(static_cast<size_t>(n_out)));
    commands.matmul({ws, type, n_in, n_out}, xs.at(static_cast<uint64_t>(t * n_in * 4), n_in * 4),
                    1, single.back());
  }
  commands.run();
  const auto got = get(all);
  for (int64_t t = 0; t < T; ++t) {
    const auto one = get(single[static_cast<size_t>(t)]);
    for (int64_t r = 0; r < n_out; ++r)
      ASSERT_EQ(got[t * n_out + r], one[r]) << "token " << t << " row " << r;
  }
}

TEST_F(GpuMatmul, MatricesAndRowsAtOffsetsInsideOneBuffer) {
  // Weights at a 16-byte offset, x and y at 4-byte offsets: spans inside shared buffers.
  std::mt19937 rng(10);
  const TensorType type = TensorType::q8_0;
  const int64_t n_in = 64, n_out = 3, T = 2;
  auto w = random_matrix(type, n_in, n_out, rng);
  const auto x = random_floats(rng, static_cast<size_t>(T * n_in));
  std::vector<uint8_t> wbuf(16, 0xee);
  wbuf.insert(wbuf.end(), w.begin(), w.end());
  std::vector<float> xbuf(1, 1e9f);
  xbuf.insert(xbuf.end(), x.begin(), x.end());
  const Span ws = put(wbuf).at(16, w.size());
  const Span xs = put(xbuf).at(4, x.size() * 4);
  Span ybuf = make(static_cast<size_t>(T * n_out + 3));
  Commands commands(dev());
  commands.matmul({ws, type, n_in, n_out}, xs, T,
                  ybuf.at(12, static_cast<uint64_t>(T * n_out) * 4));
  commands.run();
  const auto got = get(ybuf);
  const auto want = cpu_matmul(type, w, n_in, n_out, x, T);
  const auto mag = magnitudes(type, w, n_in, n_out, x, T);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i + 3], want[i], 1e-4f * mag[i] + 1e-6f) << i;
  EXPECT_TRUE(std::isnan(got[0]));  // nothing written before the span
}

TEST_F(GpuMatmul, TypesWithoutAShaderAndShortSpansAreErrors) {
  EXPECT_TRUE(supports(TensorType::q4_k));
  EXPECT_FALSE(supports(TensorType::q4_1));
  Span w = make(64);
  Span x = make(64);
  Span y = make(4);
  Commands commands(dev());
  try {
    commands.matmul({w, TensorType::q4_1, 32, 2}, x, 1, y);
    FAIL() << "Q4_1 has no shader";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
  }
  try {
    commands.matmul({w, TensorType::f32, 32, 2}, x, 3, y);  // y holds 4 floats, 6 needed
    FAIL() << "y was too short";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  }
}

}  // namespace
}  // namespace hearth::gpu::test
