// The GGUF reader. It walks the file once, front to back, with a cursor that refuses to read past
// the end; every count is bounded by the bytes left before anything is allocated for it.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "core/error.h"
#include "core/mapped_file.h"
#include "crypto/sealed_file.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/gguf_format.h"

namespace hearth::gguf {

class Parser {
 public:
  explicit Parser(File& file) : file_(file), bytes_(file.bytes_) {}

  void run() {
    read_header();
    for (uint64_t i = 0; i < n_kv_; ++i) read_metadata_entry(i);
    read_alignment();
    for (uint64_t i = 0; i < n_tensors_; ++i) read_tensor_info(i);
    place_tensors();
  }

 private:
  static constexpr uint64_t kMinEntryBytes = 8 + 4 + 1;               // key length, type, u8 value
  static constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name, 1 dim, type, offset

  uint64_t left() const { return bytes_.size() - pos_; }

  // "<file>: <section> item 3 item 7: <problem>"
  [[noreturn]] void fail(ErrorKind kind, const std::string& problem) const {
    std::string where = section_;
    for (int d = 0; d < depth_; ++d) where += " item " + std::to_string(item_path_[d]);
    throw Error(kind, file_.name_ + ": " + (where.empty() ? "" : where + ": ") + problem);
  }
  [[noreturn]] void corrupt(const std::string& problem) const {
    fail(ErrorKind::corrupt_file, problem);
  }

  const uint8_t* take(uint64_t n, std::string_view what) {
    if (n > left())
      corrupt(std::string(what) + " needs " + std::to_string(n) + " bytes at offset " +
              std::to_string(pos_) + " but only " + std::to_string(left()) +
              " are left in the file");
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }

  template <typename T>
  T scalar(std::string_view what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));  // the format is little-endian, as is x86
    return v;
  }

  std::string string(std::string_view what) {
    const uint64_t length = scalar<uint64_t>(what);
    if (length > left())
      corrupt(std::string(what) + " length " + std::to_string(length) + " exceeds the " +
              std::to_string(left()) + " bytes left in the file");
    const auto* p = reinterpret_cast<const char*>(take(length, what));
    return std::string(p, length);
  }

  // A key or tensor name: non-empty UTF-8, so that it can be printed and put in JSON.
  std::string name_string(std::string_view what) {
    std::string s = string(what);
    if (s.empty()) corrupt(std::string(what) + " is empty");
    if (!format::is_valid_utf8(s))
      corrupt(std::string(what) + " " + format::quoted(s) + " is not valid UTF-8");
    return s;
  }

  uint64_t bounded_count(uint64_t count, uint64_t min_bytes_each, std::string_view what) {
    if (count > left() / min_bytes_each)
      corrupt("claims " + std::to_string(count) + " " + std::string(what) + " but only " +
              std::to_string(left()) + " bytes are left in the file (each needs at least " +
              std::to_string(min_bytes_each) + ")");
    return count;
  }

  void read_header() {
    section_ = "header";
    if (bytes_.size() < 4)
      corrupt("not a GGUF file: only " + std::to_string(bytes_.size()) + " bytes long");
    if (scalar<uint32_t>("magic") != format::kMagic) {
      std::string magic(reinterpret_cast<const char*>(bytes_.data()), 4);
      corrupt("not a GGUF file: starts with " + format::quoted(magic) + " instead of 'GGUF'");
    }
    const uint32_t version = scalar<uint32_t>("version");
    if (version == 0) corrupt("version is 0");
    if ((version & 0xFFFF) == 0)
      fail(ErrorKind::unsupported, "version field reads " + std::to_string(version) +
                                       ": this looks like a big-endian GGUF file, which hearth "
                                       "does not support; use a little-endian file");
    if (version == 1)
      fail(ErrorKind::unsupported,
           "GGUF version 1 is no longer supported; convert the model again with a current "
           "llama.cpp");
    if (version > 3)
      fail(ErrorKind::unsupported, "GGUF version " + std::to_string(version) +
                                       " is newer than this build reads (versions 2 and 3)");
    file_.version_ = version;
    const uint64_t n_tensors = scalar<uint64_t>("tensor count");
    n_kv_ = bounded_count(scalar<uint64_t>("metadata count"), kMinEntryBytes, "metadata keys");
    n_tensors_ = bounded_count(n_tensors, kMinTensorInfoBytes, "tensors");
  }

  void read_metadata_entry(uint64_t index) {
    section_ = "metadata key #" + std::to_string(index);
    std::string key = name_string("key");
    section_ = "metadata key " + format::quoted(key);
    if (file_.metadata_index_.count(key) != 0) corrupt("the key appears twice");
    const uint32_t type = scalar<uint32_t>("value type");
    Value value = read_value(type);
    file_.metadata_index_.emplace(key, file_.metadata_.size());
    file_.metadata_.emplace_back(std::move(key), std::move(value));
  }

  ValueType checked_type(uint32_t id, std::string_view what) const {
    if (!format::is_known_value_type(id))
      corrupt(std::string(what) + " " + std::to_string(id) + " is not a GGUF value type (0-12)");
    return static_cast<ValueType>(id);
  }

  Value read_value(uint32_t type_id) {
    Value v;
    v.type = checked_type(type_id, "value type");
    switch (v.type) {
      case ValueType::u8:
        v.u = scalar<uint8_t>("u8 value");
        break;
      case ValueType::i8:
        v.i = scalar<int8_t>("i8 value");
        break;
      case ValueType::u16:
        v.u = scalar<uint16_t>("u16 value");
        break;
      case ValueType::i16:
        v.i = scalar<int16_t>("i16 value");
        break;
      case ValueType::u32:
        v.u = scalar<uint32_t>("u32 value");
        break;
      case ValueType::i32:
        v.i = scalar<int32_t>("i32 value");
        break;
      case ValueType::u64:
        v.u = scalar<uint64_t>("u64 value");
        break;
      case ValueType::i64:
        v.i = scalar<int64_t>("i64 value");
        break;
      case ValueType::f32:
        v.f = scalar<float>("f32 value");
        break;
      case ValueType::f64:
        v.f = scalar<double>("f64 value");
        break;
      case ValueType::boolean: {
        const uint8_t b = scalar<uint8_t>("bool value");
        if (b > 1) corrupt("bool value is " + std::to_string(b) + ", not 0 or 1");
        v.u = b;
        break;
      }
      case ValueType::string:
        v.s = string("string");
        break;
      case ValueType::array:
        read_array(v);
        break;
    }
    return v;
  }

  void read_array(Value& array) {
    if (depth_ >= format::kMaxArrayDepth)
      corrupt("arrays nested deeper than " + std::to_string(format::kMaxArrayDepth) + " levels");
    array.element_type = checked_type(scalar<uint32_t>("array element type"), "array element type");
    const uint64_t count =
        bounded_count(scalar<uint64_t>("array item count"),
                      format::min_encoded_size(array.element_type), "array items");
    if (count > format::kMaxArrayItems - total_items_)
      fail(ErrorKind::unsupported, "arrays hold more than " +
                                       std::to_string(format::kMaxArrayItems) +
                                       " items in all, more than hearth accepts in one file");
    total_items_ += count;
    array.items.reserve(count);
    ++depth_;
    for (uint64_t k = 0; k < count; ++k) {
      item_path_[depth_ - 1] = k;
      array.items.push_back(read_value(static_cast<uint32_t>(array.element_type)));
    }
    --depth_;
  }

  void read_alignment() {
    section_ = "metadata key 'general.alignment'";
    const Value* a = file_.find(format::kAlignmentKey);
    if (a == nullptr) return;
    if (a->type != ValueType::u32)
      corrupt("is " + std::string(value_type_name(a->type)) + ", expected u32");
    if (!format::is_power_of_two(a->u))
      corrupt("alignment " + std::to_string(a->u) + " is not a power of two");
    file_.alignment_ = static_cast<uint32_t>(a->u);
  }

  void read_tensor_info(uint64_t index) {
    section_ = "tensor info #" + std::to_string(index);
    TensorInfo t;
    t.name = name_string("tensor name");
    section_ = "tensor " + format::quoted(t.name);
    if (file_.tensor_index_.count(t.name) != 0) corrupt("the name appears twice");
    const uint32_t n_dims = scalar<uint32_t>("dimension count");
    if (n_dims < 1 || n_dims > format::kMaxDims)
      corrupt("has " + std::to_string(n_dims) + " dimensions; GGUF tensors have 1 to 4");
    for (uint32_t d = 0; d < n_dims; ++d)
      t.ne.push_back(static_cast<int64_t>(scalar<uint64_t>("dimension")));
    const uint32_t type_id = scalar<uint32_t>("tensor type");
    const auto traits = tensor_type_traits(type_id);
    if (!traits)
      fail(ErrorKind::unsupported,
           "has tensor type id " + std::to_string(type_id) + ", which this build does not know");
    t.type = traits->type;
    t.offset = scalar<uint64_t>("tensor data offset");
    std::string why;
    const auto n_bytes = format::checked_tensor_bytes(t.type, t.ne, why);
    if (!n_bytes) corrupt(why);
    t.n_bytes = *n_bytes;
    file_.tensor_index_.emplace(t.name, file_.tensors_.size());
    file_.tensors_.push_back(std::move(t));
  }

  void place_tensors() {
    section_ = "data section";
    file_.header_size_ = pos_;
    const auto data_offset = format::align_up(pos_, file_.alignment_);
    if (!data_offset) corrupt("the aligned start overflows 64 bits");
    file_.data_offset_ = *data_offset;
    const uint64_t size = bytes_.size();
    auto& tensors = file_.tensors_;
    for (const TensorInfo& t : tensors) {
      section_ = "tensor " + format::quoted(t.name);
      if (t.offset % file_.alignment_ != 0)
        corrupt("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                std::to_string(file_.alignment_));
      uint64_t end = 0;
      if (__builtin_add_overflow(*data_offset, t.offset, &end) ||
          __builtin_add_overflow(end, t.n_bytes, &end) || end > size)
        corrupt(std::to_string(t.n_bytes) + " bytes of data at offset " + std::to_string(t.offset) +
                " extend past the end of the file (" + std::to_string(size) +
                " bytes, data section at " + std::to_string(*data_offset) + ")");
    }
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
    section_ = "data section";
    for (size_t k = 1; k < order.size(); ++k) {
      const TensorInfo& prev = tensors[order[k - 1]];
      const TensorInfo& next = tensors[order[k]];
      if (next.offset < prev.offset + prev.n_bytes)
        corrupt("tensors " + format::quoted(prev.name) + " and " + format::quoted(next.name) +
                " overlap");
    }
  }

  File& file_;
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  uint64_t n_kv_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t total_items_ = 0;
  std::string section_;
  int depth_ = 0;
  uint64_t item_path_[format::kMaxArrayDepth] = {};
};

File File::parse(std::span<const uint8_t> bytes, std::string name) {
  File file;
  file.bytes_ = bytes;
  file.name_ = std::move(name);
  Parser(file).run();
  return file;
}

File File::open(const std::filesystem::path& path, bool weights_in_memory) {
  if (crypto::is_sealed_file(path)) {
    auto opened = std::make_shared<const std::string>(crypto::read_file(path));
    File file = parse({reinterpret_cast<const uint8_t*>(opened->data()), opened->size()},
                      path.string());
    file.opened_ = std::move(opened);
    return file;
  }
  auto mapping = std::make_shared<MappedFile>(
      path, weights_in_memory ? MappedFile::Residency::automatic : MappedFile::Residency::mapped);
  File file = parse(mapping->bytes(), path.string());
  file.mapping_ = std::move(mapping);
  return file;
}

std::span<const uint8_t> File::tensor_data(const TensorInfo& tensor) const {
  HEARTH_ASSERT(tensor.offset <= bytes_.size() && data_offset_ + tensor.offset <= bytes_.size() &&
                    tensor.n_bytes <= bytes_.size() - data_offset_ - tensor.offset,
                "tensor_data() given a tensor that does not belong to this file");
  return bytes_.subspan(data_offset_ + tensor.offset, tensor.n_bytes);
}

}  // namespace hearth::gguf
