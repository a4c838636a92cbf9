// Row quantization: F32 values -> GGUF blocks of a weight type (DESIGN.md §2, "hearth's own
// quantizer"). The output is decoded by the kernels' reference to_float, and for every type the
// algorithm follows llama.cpp's reference quantizers (the ones llama-quantize uses without an
// importance matrix: quantize_row_*_ref for Q4_0..Q8_0 and the K-quants, and the IQ4_NL search
// with 7 scale tries), with the same single-precision arithmetic in the same order, so that
// quantizing the same F32 rows gives the same bytes.
//
// Deliberate difference: where llama.cpp would write a NaN scale (IQ4_NL on a block whose squares
// all underflow to zero) hearth writes a zero block instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/gguf/tensor_type.h"

namespace hearth::quantize {

using gguf::TensorType;

// The types quantize_rows can produce (in type id order): F32, F16, Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, BF16. The row quantizers are the kernels'
// (kernels.h, TypeOps::quantize: adding a type is one row there).
std::span<const TensorType> supported_types();
bool is_supported(TensorType type);

// Quantizes nrows rows of n_per_row values (n_per_row a multiple of the type's block size) into
// `dst`, rows packed one after another. Returns the bytes written. Error(invalid_input) for an
// unsupported type or a row width that is not a multiple of the block size.
size_t quantize_rows(TensorType type, const float* src, void* dst, int64_t nrows,
                     int64_t n_per_row);

// Bytes of one row of n values of `type`.
size_t row_size(TensorType type, int64_t n);

// Decodes n values of any type the kernels can read (reference kernels) into F32.
// Error(unsupported) when the type cannot be decoded.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);

}  // namespace hearth::quantize
