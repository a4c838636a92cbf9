// matmul(): exact_f32 against a naive double loop, quantized_activations against exact within
// the activation-rounding bound, threads against one thread (bit-identical), errors.
#include "engine/kernels/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernel_test_util.h"

namespace hearth::kernels {
namespace {

using test::kWeightTypes;

struct Problem {
  TensorType type;
  int64_t n_in, n_out, n_tokens;
  std::vector<uint8_t> w;
  std::vector<float> x;
  WeightMatrix matrix() const { return {type, w.data(), n_in, n_out}; }
  std::vector<float> row(int64_t r) const {
    return test::dequantize(type, w.data() + r * row_bytes(type, n_in), n_in);
  }
};

Problem make_problem(TensorType type, int64_t n_in, int64_t n_out, int64_t n_tokens,
                     uint32_t seed) {
  std::mt19937 rng(seed);
  Problem p{type, n_in, n_out, n_tokens, {}, {}};
  for (int64_t r = 0; r < n_out; ++r) {
    const auto row = test::random_row(type, n_in, rng);
    p.w.insert(p.w.end(), row.begin(), row.end());
  }
  p.x = test::random_floats(rng, n_in * n_tokens);
  return p;
}

std::vector<float> run(const Problem& p, Arithmetic a, KernelSet set, ThreadPool* pool) {
  std::vector<float> y(static_cast<size_t>(p.n_out * p.n_tokens), -1.f);
  matmul(p.matrix(), p.x.data(), p.n_tokens, y.data(), {set, a, pool});
  return y;
}

TEST(Matmul, ExactF32MatchesANaiveDoubleLoop) {
  for (TensorType type : kWeightTypes) {
    SCOPED_TRACE(std::string(gguf::tensor_type_name(type)));
    const Problem p = make_problem(type, 512, 13, 3, 11);
    const auto y = run(p, Arithmetic::exact_f32, KernelSet::reference, nullptr);
    for (int64_t r = 0; r < p.n_out; ++r) {
      const auto w = p.row(r);
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        double exact = 0, magnitude = 0;
        for (int64_t c = 0; c < p.n_in; ++c) {
          const double v = static_cast<double>(w[c]) * p.x[t * p.n_in + c];
          exact += v;
          magnitude += std::fabs(v);
        }
        ASSERT_NEAR(y[t * p.n_out + r], exact, 1e-6 * magnitude) << "row " << r << " token " << t;
      }
    }
  }
}

// How far one activation value may move when converted to `dot` (per value, in units of x).
std::vector<double> activation_error_bounds(TensorType dot, const std::vector<float>& x) {
  std::vector<double> e(x.size());
  if (dot == TensorType::f16) {
    for (size_t i = 0; i < x.size(); ++i) e[i] = std::fabs(x[i]) * 0x1p-11 + 0x1p-25;
    return e;
  }
  const size_t block = dot == TensorType::q8_k ? 256 : 32;
  // Half a rounding step, plus F16 rounding of d for Q8_0 / Q8_1 (relative 2^-11, |q| ≤ 127).
  const double factor = dot == TensorType::q8_k ? 0.5 : 0.5 + 127.0 / 2048;
  for (size_t b = 0; b < x.size(); b += block) {
    double amax = 0;
    for (size_t i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(double{x[i]}));
    for (size_t i = b; i < b + block; ++i) e[i] = amax / 127 * factor * 1.0001;
  }
  return e;
}

TEST(Matmul, QuantizedActivationsStayWithinTheRoundingBoundOfExact) {
  for (TensorType type : kWeightTypes) {
    SCOPED_TRACE(std::string(gguf::tensor_type_name(type)));
    const Problem p = make_problem(type, 512, 9, 4, 12);
    const auto exact = run(p, Arithmetic::exact_f32, KernelSet::reference, nullptr);
    const auto quant = run(p, Arithmetic::quantized_activations, KernelSet::reference, nullptr);
    const TensorType dot = type_ops(type, KernelSet::reference)->vec_dot_type;
    const auto e = activation_error_bounds(dot, p.x);
    double max_diff = 0;
    for (int64_t r = 0; r < p.n_out; ++r) {
      const auto w = p.row(r);
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        double bound = 0, magnitude = 0;
        for (int64_t c = 0; c < p.n_in; ++c) {
          const size_t i = static_cast<size_t>(t * p.n_in + c);
          bound += std::fabs(w[c]) * e[i];
          magnitude += std::fabs(w[c] * p.x[i]);
        }
        if (dot == TensorType::q8_1) {  // s = F16(d·Σq) carries the block minimum
          for (int64_t c0 = 0; c0 < p.n_in; c0 += 32) {
            double wmax = 0, xsum = 0;
            for (int64_t c = c0; c < c0 + 32; ++c) {
              wmax = std::max(wmax, std::fabs(double{w[c]}));
              xsum += std::fabs(p.x[t * p.n_in + c]);
            }
            bound += wmax * xsum * 0x1p-11 * 1.02;
          }
        }
        bound += 4e-6 * magnitude;
        const size_t o = static_cast<size_t>(t * p.n_out + r);
        ASSERT_NEAR(quant[o], exact[o], bound) << "row " << r << " token " << t;
        max_diff = std::max(max_diff, std::fabs(double{quant[o]} - exact[o]));
      }
    }
    if (type != TensorType::f32) {
      EXPECT_GT(max_diff, 0.0) << "activations were not converted";
    }
  }
}

TEST(Matmul, QuantizedIsVecDotOfEachTokenConvertedOnce) {
  const Problem p = make_problem(TensorType::q4_k, 512, 5, 3, 13);
  const auto y = run(p, Arithmetic::quantized_activations, KernelSet::reference, nullptr);
  const TypeOps* ops = type_ops(TensorType::q4_k, KernelSet::reference);
  std::vector<uint8_t> xq(row_bytes(TensorType::q8_k, 512));
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    type_ops(TensorType::q8_k, KernelSet::reference)
        ->from_float(p.x.data() + t * 512, xq.data(), 512);
    for (int64_t r = 0; r < p.n_out; ++r) {
      const float want = ops->vec_dot(512, p.w.data() + r * row_bytes(p.type, 512), xq.data());
      EXPECT_EQ(y[t * p.n_out + r], want);
    }
  }
}

TEST(Matmul, ThreadsGiveBitIdenticalResults) {
  ThreadPool pool(3);
  for (TensorType type : kWeightTypes) {
    SCOPED_TRACE(std::string(gguf::tensor_type_name(type)));
    const Problem p = make_problem(type, 256, 37, 5, 14);
    for (Arithmetic a : {Arithmetic::exact_f32, Arithmetic::quantized_activations}) {
      const auto one = run(p, a, KernelSet::reference, nullptr);
      const auto many = run(p, a, KernelSet::reference, &pool);
      EXPECT_EQ(one, many);
      EXPECT_EQ(std::count(one.begin(), one.end(), -1.f), 0);  // every output written
    }
  }
}

TEST(Matmul, F32WeightsUseTheSameDotInBothModes) {
  const Problem p = make_problem(TensorType::f32, 96, 7, 2, 15);
  EXPECT_EQ(run(p, Arithmetic::exact_f32, KernelSet::reference, nullptr),
            run(p, Arithmetic::quantized_activations, KernelSet::reference, nullptr));
}

TEST(Matmul, UnsupportedTypeIsAClearError) {
  std::vector<uint8_t> w(66 * 4);
  std::vector<float> x(256), y(4);
  const WeightMatrix m{TensorType::iq2_xxs, w.data(), 256, 4};
  try {
    matmul(m, x.data(), 1, y.data(), {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unsupported);
    EXPECT_EQ(std::string(e.what()), "tensor type IQ2_XXS is not supported by this build");
  }
  std::vector<float> row(256);
  EXPECT_THROW(dequantize_row(m, 0, row.data()), Error);
}

TEST(Matmul, DequantizeRowIsToFloatOfThatRow) {
  const Problem p = make_problem(TensorType::q5_k, 512, 4, 1, 16);
  std::vector<float> out(512);
  for (int64_t r = 0; r < p.n_out; ++r) {
    dequantize_row(p.matrix(), r, out.data());
    EXPECT_EQ(out, p.row(r));
  }
}

TEST(Matmul, EmptyInputsAreANoOp) {
  const Problem p = make_problem(TensorType::q8_0, 64, 3, 1, 17);
  std::vector<float> y(3, 5.f);
  matmul(p.matrix(), p.x.data(), 0, y.data(), {});
  EXPECT_EQ(y, std::vector<float>(3, 5.f));
}

TEST(Matmul, DefaultOptions) {
  ThreadPool pool(1);
  const MatmulOptions o = default_matmul_options(&pool);
  EXPECT_EQ(o.pool, &pool);
  EXPECT_EQ(o.kernels, active_kernel_set());
  const char* env = std::getenv("HEARTH_KERNELS");
  const bool reference = env && std::string(env) == "reference";
  EXPECT_EQ(o.arithmetic, reference ? Arithmetic::exact_f32 : Arithmetic::quantized_activations);
}

}  // namespace
}  // namespace hearth::kernels
