// Helpers for the kernel tests: random blocks of every type, and reference arithmetic in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "engine/kernels/blocks.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"

namespace hearth::kernels::test {

// Every weight type with a reference row, and the activation types.
inline const std::vector<TensorType> kWeightTypes = {
    TensorType::f32,  TensorType::f16,  TensorType::bf16, TensorType::q8_0,   TensorType::q4_0,
    TensorType::q4_1, TensorType::q5_0, TensorType::q5_1, TensorType::iq4_nl, TensorType::q2_k,
    TensorType::q3_k, TensorType::q4_k, TensorType::q5_k, TensorType::q6_k};

inline uint32_t block_size(TensorType t) {
  return gguf::traits(t).block_size;
}

inline std::vector<float> random_floats(std::mt19937& rng, int64_t n, float sigma = 1.0f) {
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

// A random F16 scale of either sign with magnitude in [lo, hi).
inline uint16_t random_scale(std::mt19937& rng, float lo, float hi, bool allow_negative = true) {
  std::uniform_real_distribution<float> mag(lo, hi);
  float v = mag(rng);
  if (allow_negative && (rng() & 1)) v = -v;
  return f32_to_f16(v);
}

// n values of `type` with random codes and sane random scales (no NaN/inf in any F16 field).
inline std::vector<uint8_t> random_row(TensorType type, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> bytes(row_bytes(type, n));
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  const int64_t nb = n / block_size(type);
  auto each = [&](auto* blocks, auto&& fix) {
    for (int64_t i = 0; i < nb; ++i) fix(blocks[i]);
  };
  switch (type) {
    case TensorType::f32: {
      auto v = random_floats(rng, n);
      std::memcpy(bytes.data(), v.data(), bytes.size());
      break;
    }
    case TensorType::f16:
    case TensorType::bf16: {
      auto v = random_floats(rng, n);
      auto* h = reinterpret_cast<uint16_t*>(bytes.data());
      for (int64_t i = 0; i < n; ++i) {
        h[i] = type == TensorType::f16 ? f32_to_f16(v[static_cast<size_t>(i)])
                                       : f32_to_bf16(v[static_cast<size_t>(i)]);
      }
      break;
    }
    case TensorType::q8_0:
      each(reinterpret_cast<block_q8_0*>(bytes.data()),
           [&](block_q8_0& b) { b.d = random_scale(rng, 0.001f, 0.02f); });
      break;
    case TensorType::q4_0:
      each(reinterpret_cast<block_q4_0*>(bytes.data()),
           [&](block_q4_0& b) { b.d = random_scale(rng, 0.01f, 0.2f); });
      break;
    case TensorType::iq4_nl:
      each(reinterpret_cast<block_iq4_nl*>(bytes.data()),
           [&](block_iq4_nl& b) { b.d = random_scale(rng, 0.001f, 0.02f); });
      break;
    case TensorType::q4_1:
      each(reinterpret_cast<block_q4_1*>(bytes.data()), [&](block_q4_1& b) {
        b.d = random_scale(rng, 0.01f, 0.2f, false);
        b.m = random_scale(rng, 0.5f, 1.5f);
      });
      break;
    case TensorType::q5_0:
      each(reinterpret_cast<block_q5_0*>(bytes.data()),
           [&](block_q5_0& b) { b.d = random_scale(rng, 0.01f, 0.1f); });
      break;
    case TensorType::q5_1:
      each(reinterpret_cast<block_q5_1*>(bytes.data()), [&](block_q5_1& b) {
        b.d = random_scale(rng, 0.01f, 0.1f, false);
        b.m = random_scale(rng, 0.5f, 1.5f);
      });
      break;
    case TensorType::q2_k:
      each(reinterpret_cast<block_q2_K*>(bytes.data()), [&](block_q2_K& b) {
        b.d = random_scale(rng, 0.01f, 0.1f, false);
        b.dmin = random_scale(rng, 0.01f, 0.1f, false);
      });
      break;
    case TensorType::q3_k:
      each(reinterpret_cast<block_q3_K*>(bytes.data()),
           [&](block_q3_K& b) { b.d = random_scale(rng, 0.001f, 0.01f); });
      break;
    case TensorType::q4_k:
      each(reinterpret_cast<block_q4_K*>(bytes.data()), [&](block_q4_K& b) {
        b.d = random_scale(rng, 0.001f, 0.01f, false);
        b.dmin = random_scale(rng, 0.001f, 0.01f, false);
      });
      break;
    case TensorType::q5_k:
      each(reinterpret_cast<block_q5_K*>(bytes.data()), [&](block_q5_K& b) {
        b.d = random_scale(rng, 0.001f, 0.01f, false);
        b.dmin = random_scale(rng, 0.001f, 0.01f, false);
      });
      break;
    case TensorType::q6_k:
      each(reinterpret_cast<block_q6_K*>(bytes.data()),
           [&](block_q6_K& b) { b.d = random_scale(rng, 0.0001f, 0.001f); });
      break;
    default:
      break;
  }
  return bytes;
}

inline std::vector<float> dequantize(TensorType type, const void* data, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  type_ops(type, KernelSet::reference)->to_float(data, out.data(), n);
  return out;
}

}  // namespace hearth::kernels::test
