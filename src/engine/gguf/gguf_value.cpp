// Metadata values and the File's lookups.
#include <limits>

#include "core/error.h"
#include "engine/gguf/gguf.h"

namespace hearth::gguf {

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::u8:
      return "u8";
    case ValueType::i8:
      return "i8";
    case ValueType::u16:
      return "u16";
    case ValueType::i16:
      return "i16";
    case ValueType::u32:
      return "u32";
    case ValueType::i32:
      return "i32";
    case ValueType::f32:
      return "f32";
    case ValueType::boolean:
      return "bool";
    case ValueType::string:
      return "string";
    case ValueType::array:
      return "array";
    case ValueType::u64:
      return "u64";
    case ValueType::i64:
      return "i64";
    case ValueType::f64:
      return "f64";
  }
  return "unknown";
}

Value Value::of_u32(uint32_t v) {
  Value out;
  out.type = ValueType::u32;
  out.u = v;
  return out;
}

Value Value::of_i32(int32_t v) {
  Value out;
  out.type = ValueType::i32;
  out.i = v;
  return out;
}

Value Value::of_u64(uint64_t v) {
  Value out;
  out.type = ValueType::u64;
  out.u = v;
  return out;
}

Value Value::of_f32(float v) {
  Value out;
  out.type = ValueType::f32;
  out.f = v;
  return out;
}

Value Value::of_bool(bool v) {
  Value out;
  out.type = ValueType::boolean;
  out.u = v ? 1 : 0;
  return out;
}

Value Value::of_string(std::string v) {
  Value out;
  out.type = ValueType::string;
  out.s = std::move(v);
  return out;
}

Value Value::of_array(ValueType element_type, std::vector<Value> items) {
  Value out;
  out.type = ValueType::array;
  out.element_type = element_type;
  out.items = std::move(items);
  return out;
}

bool Value::is_integer() const {
  switch (type) {
    case ValueType::u8:
    case ValueType::i8:
    case ValueType::u16:
    case ValueType::i16:
    case ValueType::u32:
    case ValueType::i32:
    case ValueType::u64:
    case ValueType::i64:
      return true;
    default:
      return false;
  }
}

int64_t TensorInfo::n_elements() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;  // the reader and writer check that this cannot overflow
  return n;
}

namespace {

bool is_unsigned(ValueType type) {
  return type == ValueType::u8 || type == ValueType::u16 || type == ValueType::u32 ||
         type == ValueType::u64;
}

}  // namespace

const Value* File::find(std::string_view key) const {
  auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

namespace {

[[noreturn]] void wrong_type(const File& file, std::string_view key, const Value& value,
                             std::string_view wanted) {
  std::string actual(value_type_name(value.type));
  if (value.type == ValueType::array)
    actual = "array of " + std::string(value_type_name(value.element_type));
  throw Error(ErrorKind::corrupt_file, file.name() + ": metadata key '" + std::string(key) +
                                           "' is " + actual + ", expected " + std::string(wanted));
}

}  // namespace

std::optional<std::string> File::get_string(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != ValueType::string) wrong_type(*this, key, *v, "string");
  return v->s;
}

std::optional<int64_t> File::get_int(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_integer()) wrong_type(*this, key, *v, "an integer");
  if (!is_unsigned(v->type)) return v->i;
  if (v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw Error(ErrorKind::corrupt_file, name_ + ": metadata key '" + std::string(key) +
                                             "' holds " + std::to_string(v->u) +
                                             ", too large for a signed 64-bit integer");
  return static_cast<int64_t>(v->u);
}

std::optional<double> File::get_float(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_float()) wrong_type(*this, key, *v, "f32 or f64");
  return v->f;
}

std::optional<bool> File::get_bool(std::string_view key) const {
  const Value* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->type != ValueType::boolean) wrong_type(*this, key, *v, "bool");
  return v->u != 0;
}

const Value* File::get_array(std::string_view key, ValueType element_type) const {
  const Value* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->type != ValueType::array || v->element_type != element_type)
    wrong_type(*this, key, *v, "array of " + std::string(value_type_name(element_type)));
  return v;
}

const TensorInfo* File::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace hearth::gguf
