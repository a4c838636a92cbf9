// Test helper: small hand-built GGUF files with every metadata value type, nested arrays, arrays
// of strings and a few tensors of different types, written by hearth's own Writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/gguf/gguf.h"

namespace hearth::gguf::test {

inline Value scalar_value(ValueType type, uint64_t u, int64_t i, double f) {
  Value v;
  v.type = type;
  v.u = u;
  v.i = i;
  v.f = f;
  return v;
}

// One key per scalar type, with values at the edges of each type's range.
inline std::vector<std::pair<std::string, Value>> every_scalar() {
  using V = ValueType;
  return {
      {"test.u8", scalar_value(V::u8, 255, 0, 0)},
      {"test.i8", scalar_value(V::i8, 0, -128, 0)},
      {"test.u16", scalar_value(V::u16, 65535, 0, 0)},
      {"test.i16", scalar_value(V::i16, 0, -32768, 0)},
      {"test.u32", Value::of_u32(4000000000u)},
      {"test.i32", Value::of_i32(-2000000000)},
      {"test.f32", Value::of_f32(0.1f)},
      {"test.bool", Value::of_bool(true)},
      {"test.string", Value::of_string("caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac")},
      {"test.u64", Value::of_u64(18446744073709551615ull)},
      {"test.i64", scalar_value(V::i64, 0, INT64_MIN, 0)},
      {"test.f64", scalar_value(V::f64, 0, 0, -1.0e300)},
  };
}

struct SampleOptions {
  uint32_t version = 3;
  uint32_t alignment = 0;  // 0: leave general.alignment unset (32)
  bool tensors = true;
};

// A complete file: all scalars, arrays (of every scalar type, of strings, empty, nested two
// levels deep) and three tensors (F32 [4, 3], Q8_0 [64, 2], F16 [5]).
inline std::vector<uint8_t> sample_gguf(SampleOptions options = {}) {
  using V = ValueType;
  Writer w(options.version);
  w.set("general.architecture", Value::of_string("llama"));
  if (options.alignment != 0) w.set("general.alignment", Value::of_u32(options.alignment));
  for (auto& [key, value] : every_scalar()) w.set(key, value);
  for (auto& [key, value] : every_scalar()) {
    if (value.type == V::string) continue;
    w.set(key + "_array", Value::of_array(value.type, {value, value, value}));
  }
  w.set("test.strings", Value::of_array(V::string, {Value::of_string("<unk>"), Value::of_string(""),
                                                    Value::of_string("\xe2\x96\x81the")}));
  w.set("test.empty", Value::of_array(V::i32, {}));
  w.set("test.nested",
        Value::of_array(V::array, {Value::of_array(V::u8, {scalar_value(V::u8, 1, 0, 0)}),
                                   Value::of_array(V::string, {Value::of_string("x")}),
                                   Value::of_array(V::array, {Value::of_array(V::f32, {})})}));
  static const std::vector<uint8_t> f32_data(4 * 3 * 4, 0x3f);
  static const std::vector<uint8_t> q8_data(2 * 2 * 34, 0x11);
  static const std::vector<uint8_t> f16_data(5 * 2, 0x22);
  if (options.tensors) {
    w.add_tensor("a.weight", TensorType::f32, {4, 3}, f32_data);
    w.add_tensor("b.weight", TensorType::q8_0, {64, 2}, q8_data);
    w.add_tensor("c.bias", TensorType::f16, {5}, f16_data);
  }
  return w.to_bytes();
}

}  // namespace hearth::gguf::test
