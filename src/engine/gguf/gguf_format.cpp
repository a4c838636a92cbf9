#include "engine/gguf/gguf_format.h"

#include <limits>

#include "core/error.h"

namespace hearth::gguf::format {

std::optional<uint32_t> scalar_size(ValueType type) {
  switch (type) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::boolean:
      return 1;
    case ValueType::u16:
    case ValueType::i16:
      return 2;
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::f32:
      return 4;
    case ValueType::u64:
    case ValueType::i64:
    case ValueType::f64:
      return 8;
    case ValueType::string:
    case ValueType::array:
      return std::nullopt;
  }
  return std::nullopt;
}

bool is_known_value_type(uint32_t id) {
  return id <= static_cast<uint32_t>(ValueType::f64);
}

uint64_t min_encoded_size(ValueType type) {
  if (auto size = scalar_size(type)) return *size;
  return type == ValueType::string ? 8 : 12;  // u64 length | u32 element type + u64 count
}

std::optional<uint64_t> align_up(uint64_t value, uint32_t alignment) {
  const uint64_t mask = uint64_t{alignment} - 1;
  if (value > std::numeric_limits<uint64_t>::max() - mask) return std::nullopt;
  return (value + mask) & ~mask;
}

bool is_power_of_two(uint64_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

std::optional<uint64_t> checked_tensor_bytes(TensorType type, std::span<const int64_t> ne,
                                             std::string& why) {
  if (ne.empty() || ne.size() > kMaxDims) {
    why = "has " + std::to_string(ne.size()) + " dimensions; GGUF tensors have 1 to 4";
    return std::nullopt;
  }
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] < 1) {
      why = "dimension " + std::to_string(d) + " is " + std::to_string(ne[d]) +
            "; every dimension must be at least 1";
      return std::nullopt;
    }
  }
  const TensorTypeTraits& t = traits(type);
  if (ne[0] % t.block_size != 0) {
    why = "has " + std::to_string(ne[0]) + " elements per row, not a multiple of the " +
          std::string(t.name) + " block size " + std::to_string(t.block_size);
    return std::nullopt;
  }
  uint64_t bytes = static_cast<uint64_t>(ne[0]) / t.block_size;
  bool overflow = __builtin_mul_overflow(bytes, uint64_t{t.type_size}, &bytes);
  for (size_t d = 1; d < ne.size() && !overflow; ++d)
    overflow = __builtin_mul_overflow(bytes, static_cast<uint64_t>(ne[d]), &bytes);
  // Element counts must also fit int64_t, as n_elements() and the kernels use signed counts.
  int64_t elements = 1;
  for (size_t d = 0; d < ne.size() && !overflow; ++d)
    overflow = __builtin_mul_overflow(elements, ne[d], &elements);
  if (overflow) {
    why = "has a size that overflows 64 bits";
    return std::nullopt;
  }
  return bytes;
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, code = c & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF))
      return false;
    i += extra + 1;
  }
  return true;
}

std::string quoted(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

}  // namespace hearth::gguf::format

namespace hearth::gguf {

uint64_t tensor_bytes(TensorType type, std::span<const int64_t> ne) {
  std::string why;
  auto bytes = format::checked_tensor_bytes(type, ne, why);
  if (!bytes)
    throw Error(ErrorKind::corrupt_file,
                "tensor of type " + std::string(tensor_type_name(type)) + " " + why);
  return *bytes;
}

}  // namespace hearth::gguf
