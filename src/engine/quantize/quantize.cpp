// Row quantization through the kernels' per-type table (TypeOps::quantize), and decoding through
// the reference kernels.
#include "engine/quantize/quantize.h"

#include <cstring>
#include <string>

#include "core/error.h"
#include "engine/kernels/kernels.h"

namespace hearth::quantize {
namespace {

using RowFn = void (*)(const float*, void*, int64_t);

// The type's weight quantizer, from the kernels' per-type table.
RowFn find(TensorType type) {
  const kernels::TypeOps* ops = kernels::type_ops(type, kernels::KernelSet::reference);
  return ops == nullptr ? nullptr : ops->quantize;
}

}  // namespace

std::span<const TensorType> supported_types() { return kernels::quantizable_types(); }

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
