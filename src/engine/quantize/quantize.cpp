// Dispatch of the row quantizers by type, and decoding through the reference kernels.
#include "engine/quantize/quantize.h"

#include <array>
#include <cstring>
#include <string>

#include "core/error.h"
#include "engine/kernels/half.h"
#include "engine/kernels/kernels.h"

namespace hearth::quantize {
namespace {

using RowFn = void (*)(const float*, void*, int64_t);

void to_f32(const float* x, void* y, int64_t n) {
  std::memcpy(y, x, static_cast<size_t>(n) * sizeof(float));
}
void to_f16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = kernels::f32_to_f16(x[i]);
}
void to_bf16(const float* x, void* y, int64_t n) {
  auto* out = static_cast<uint16_t*>(y);
  for (int64_t i = 0; i < n; ++i) out[i] = kernels::f32_to_bf16(x[i]);
}

struct Entry {
  TensorType type;
  RowFn fn;
};

constexpr std::array<Entry, 14> kEntries = {{
    {TensorType::q8_0, detail::q8_0},
    {TensorType::q4_0, detail::q4_0},
    {TensorType::q4_1, detail::q4_1},
    {TensorType::q5_0, detail::q5_0},
    {TensorType::q5_1, detail::q5_1},
    {TensorType::q2_k, detail::q2_k},
    {TensorType::q3_k, detail::q3_k},
    {TensorType::q4_k, detail::q4_k},
    {TensorType::q5_k, detail::q5_k},
    {TensorType::q6_k, detail::q6_k},
    {TensorType::iq4_nl, detail::iq4_nl},
    {TensorType::f16, to_f16},
    {TensorType::bf16, to_bf16},
    {TensorType::f32, to_f32},
}};

constexpr std::array<TensorType, kEntries.size()> kTypes = [] {
  std::array<TensorType, kEntries.size()> t{};
  for (size_t i = 0; i < kEntries.size(); ++i) t[i] = kEntries[i].type;
  return t;
}();

RowFn find(TensorType type) {
  for (const Entry& e : kEntries)
    if (e.type == type) return e.fn;
  return nullptr;
}

}  // namespace

std::span<const TensorType> supported_types() { return kTypes; }

bool is_supported(TensorType type) { return find(type) != nullptr; }

size_t row_size(TensorType type, int64_t n) {
  const auto& t = gguf::traits(type);
  return static_cast<size_t>(n / t.block_size) * t.type_size;
}

size_t quantize_rows(TensorType type, const float* src, void* dst, int64_t nrows,
                     int64_t n_per_row) {
  const RowFn fn = find(type);
  if (fn == nullptr)
    throw Error(ErrorKind::invalid_input,
                "cannot quantize to " + std::string(gguf::tensor_type_name(type)));
  const auto block = static_cast<int64_t>(gguf::traits(type).block_size);
  if (n_per_row <= 0 || n_per_row % block != 0)
    throw Error(ErrorKind::invalid_input,
                "rows of " + std::to_string(n_per_row) + " values cannot be stored as " +
                    std::string(gguf::tensor_type_name(type)) + " (blocks of " +
                    std::to_string(block) + ")");
  const size_t bytes = row_size(type, n_per_row);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t r = 0; r < nrows; ++r) fn(src + r * n_per_row, out + static_cast<size_t>(r) * bytes, n_per_row);
  return bytes * static_cast<size_t>(nrows);
}

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
  const kernels::TypeOps* ops = kernels::type_ops(type, kernels::KernelSet::reference);
  if (ops == nullptr || ops->to_float == nullptr)
    throw Error(ErrorKind::unsupported,
                "cannot decode tensors of type " + std::string(gguf::tensor_type_name(type)));
  ops->to_float(src, dst, n);
}

}  // namespace hearth::quantize
