// Private to src/engine/gguf: facts about the GGUF format shared by the reader and the writer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/gguf/gguf.h"

namespace hearth::gguf::format {

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kDefaultAlignment = 32;
inline constexpr std::string_view kAlignmentKey = "general.alignment";
inline constexpr uint32_t kMaxDims = 4;
// Arrays of arrays are legal in the format but rare (llama.cpp rejects them); the bound keeps a
// malicious file from recursing deeply.
inline constexpr int kMaxArrayDepth = 8;
// A parsed item costs about 100 bytes however small it is in the file, so the total number of
// array items in one file is bounded (about 400 MiB of values at most). The largest real
// vocabularies (tokens, scores, types, merges) hold under a million.
inline constexpr uint64_t kMaxArrayItems = uint64_t{1} << 22;

// Bytes a scalar of this type occupies in the file; nullopt for string and array.
std::optional<uint32_t> scalar_size(ValueType type);
bool is_known_value_type(uint32_t id);

// The smallest number of bytes one item of this type can occupy: a string needs its length, an
// array its element type and count. Used to bound item counts by the bytes left in the file.
uint64_t min_encoded_size(ValueType type);

// Round `value` up to a multiple of the power of two `alignment`; nullopt on overflow.
std::optional<uint64_t> align_up(uint64_t value, uint32_t alignment);
bool is_power_of_two(uint64_t value);

// Bytes a tensor occupies, or nullopt with `why` set to the problem (not a multiple of the block
// size, a dimension below 1, a wrong number of dimensions, or 64-bit overflow).
std::optional<uint64_t> checked_tensor_bytes(TensorType type, std::span<const int64_t> ne,
                                             std::string& why);

bool is_valid_utf8(std::string_view text);
// The text quoted for an error message: printable ASCII kept, other bytes as \xNN, long text cut.
std::string quoted(std::string_view text);

}  // namespace hearth::gguf::format
