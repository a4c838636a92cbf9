// Test helper: where the count, length, type, shape and offset fields of a valid GGUF file are,
// so mutation tests and the fuzzer can overwrite exactly those fields with hostile values.
// Independent of the reader under test: a plain walk that trusts its (valid) input but never
// reads out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hearth::gguf::test {

struct Field {
  enum Kind { count, length, type, dims, shape, offset };
  uint64_t position = 0;
  uint32_t width = 8;  // 4 or 8 bytes
  Kind kind = count;
};

class FieldWalker {
 public:
  explicit FieldWalker(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  // Every field in file order; throws std::runtime_error when the file is not valid GGUF.
  std::vector<Field> walk() {
    pos_ = 8;  // magic and version
    const uint64_t n_tensors = u64(Field::count);
    const uint64_t n_kv = u64(Field::count);
    for (uint64_t i = 0; i < n_kv; ++i) {
      string();
      value(u32(Field::type));
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      string();
      const uint32_t n_dims = u32(Field::dims);
      for (uint32_t d = 0; d < n_dims; ++d) u64(Field::shape);
      u32(Field::type);
      u64(Field::offset);
    }
    return std::move(fields_);
  }

 private:
  void need(uint64_t n) {
    if (n > bytes_.size() - pos_) throw std::runtime_error("field walker: file ends early");
  }
  uint64_t raw(uint32_t width, Field::Kind kind, bool record) {
    need(width);
    uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + pos_, width);
    if (record) fields_.push_back({pos_, width, kind});
    pos_ += width;
    return v;
  }
  uint32_t u32(Field::Kind kind) { return static_cast<uint32_t>(raw(4, kind, true)); }
  uint64_t u64(Field::Kind kind) { return raw(8, kind, true); }
  void string() {
    const uint64_t n = u64(Field::length);
    need(n);
    pos_ += n;
  }
  void value(uint32_t type) {
    static constexpr uint32_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type > 12) throw std::runtime_error("field walker: bad value type");
    if (type == 8) return string();
    if (type != 9) {
      need(kSizes[type]);
      pos_ += kSizes[type];
      return;
    }
    const uint32_t element = u32(Field::type);
    const uint64_t count = u64(Field::count);
    if (element != 8 && element != 9 && element <= 12) {
      need(count * kSizes[element]);  // scalar arrays: skip in one step
      pos_ += count * kSizes[element];
      return;
    }
    for (uint64_t k = 0; k < count; ++k) value(element);
  }

  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  std::vector<Field> fields_;
};

inline std::vector<Field> gguf_fields(std::span<const uint8_t> bytes) {
  return FieldWalker(bytes).walk();
}

}  // namespace hearth::gguf::test
