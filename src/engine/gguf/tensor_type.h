// GGML tensor types as stored in GGUF files: id, name, block size and bytes per block.
//
// A tensor of type T with ne[0] elements per row stores ne[0] / block_size(T) blocks per row,
// each type_size(T) bytes. The numeric ids are fixed by the file format; ids that were retired
// (4, 5, 31-33, 36-38) are unknown here and rejected by the reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth::gguf {

enum class TensorType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9,
  q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15,
  iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22,
  iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30,
  tq1_0 = 34, tq2_0 = 35, mxfp4 = 39,
};

struct TensorTypeTraits {
  TensorType type;
  std::string_view name;  // as llama.cpp prints it: "F32", "Q4_K", ...
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
};

// The traits of a known type id, or nullopt for an id this build does not know.
std::optional<TensorTypeTraits> tensor_type_traits(uint32_t id);
const TensorTypeTraits& traits(TensorType type);
std::string_view tensor_type_name(TensorType type);

}  // namespace hearth::gguf
