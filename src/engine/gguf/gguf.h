// GGUF files: reading (from a read-only mapping, never trusting the file) and writing.
//
// Layout of a GGUF file (little-endian), versions 2 and 3:
//   magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv ×      { string key | u32 value_type | value }
//   n_tensors × { string name | u32 n_dims | n_dims × u64 ne | u32 tensor_type | u64 offset }
//   padding to general.alignment (default 32)
//   data section: each tensor at data_start + offset, offsets aligned to general.alignment
// string = u64 length + bytes (no terminator); array = u32 element_type + u64 count + elements,
// elements may themselves be arrays.
//
// Reader guarantees: every count, length, offset, shape and size is checked against the file with
// overflow-safe arithmetic before use; a bad file raises Error(corrupt_file) naming the file and
// what is wrong, a version or tensor type this build does not know raises Error(unsupported).
// Allocations are bounded by the file size (an array cannot claim more elements than bytes remain)
// and by a cap of 4M array items per file (unsupported beyond it).
//
// What the reader accepts, where the format leaves room:
//   - versions 2 and 3 (identical layouts); version 1 and big-endian files are unsupported;
//   - keys and tensor names must be non-empty, valid UTF-8 and unique; string values may hold any
//     bytes (real vocabularies contain invalid UTF-8 pieces);
//   - bool values must be 0 or 1; arrays may nest up to 8 levels (llama.cpp allows none);
//   - general.alignment, when present, must be a u32 power of two;
//   - tensors have 1 to 4 dimensions, each at least 1 (llama.cpp lets 0 through but then divides
//     by it), ne[0] a multiple of the type's block size, element and byte counts within 64 bits;
//   - tensor offsets must be aligned, inside the file and non-overlapping, in any order and with
//     gaps allowed (llama.cpp requires them packed in order; hearth's Writer writes them so);
//   - a file without tensors may end right after its tensor infos, without the padding.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/gguf/tensor_type.h"

namespace hearth {
class MappedFile;
}

namespace hearth::crypto {
struct DataKey;
}

namespace hearth::gguf {

// clang-format off
enum class ValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
// clang-format on
std::string_view value_type_name(ValueType type);  // "u32", "string", "array", ...

// One metadata value. Scalars keep their exact file type in `type` and their value widened to
// u64 / i64 / f64 (f32 widens to f64 exactly, so writing it back is bit-identical).
// For arrays, `type` is ValueType::array, `element_type` names the type of the items.
struct Value {
  ValueType type = ValueType::u8;
  uint64_t u = 0;                          // u8, u16, u32, u64, boolean (0/1)
  int64_t i = 0;                           // i8, i16, i32, i64
  double f = 0;                            // f32, f64
  std::string s;                           // string
  ValueType element_type = ValueType::u8;  // arrays only
  std::vector<Value> items;                // arrays only

  static Value of_u32(uint32_t v);
  static Value of_i32(int32_t v);
  static Value of_u64(uint64_t v);
  static Value of_f32(float v);
  static Value of_bool(bool v);
  static Value of_string(std::string v);
  static Value of_array(ValueType element_type, std::vector<Value> items);

  bool is_integer() const;  // any of u8..i64
  bool is_float() const { return type == ValueType::f32 || type == ValueType::f64; }
};

struct TensorInfo {
  std::string name;
  TensorType type = TensorType::f32;
  std::vector<int64_t> ne;  // GGML order: ne[0] is the contiguous dimension; 1 to 4 entries
  uint64_t offset = 0;      // from the start of the data section
  uint64_t n_bytes = 0;     // computed from type and shape

  int64_t n_elements() const;
};

// A parsed GGUF file. Tensor data stays in the mapping; tensor_data() returns views into it.
class File {
 public:
  // Maps `path` read-only and parses it; a sealed file (crypto/sealed_file.h: a user's adapter or
  // checkpoint) is opened into memory instead. Errors: not_found, io (cannot open or map),
  // corrupt_file, unsupported, unavailable (a sealed file whose key is not known).
  // weights_in_memory: read the file into the process's memory on huge pages when it takes at
  // most half of the available memory, else map it (MappedFile::Residency::automatic): for model
  // weights, which are streamed for every token (core/mapped_file.h says why).
  static File open(const std::filesystem::path& path, bool weights_in_memory = false);
  // Parses bytes already in memory (they must outlive the File). `name` is used in messages.
  static File parse(std::span<const uint8_t> bytes, std::string name);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section
  // Bytes before the padding that aligns the data section (the end of the tensor infos). A file
  // without tensors may end here or after the padding; data_offset() may then exceed file_size().
  uint64_t header_size() const { return header_size_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::string& name() const { return name_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, Value>>& metadata() const { return metadata_; }
  const Value* find(std::string_view key) const;

  // Typed accessors: nullopt when the key is absent; Error(corrupt_file) when present with a type
  // that cannot hold the requested value (get_int accepts any integer type, get_float f32/f64).
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  // Arrays with a required element type; nullptr when absent, Error(corrupt_file) on wrong type.
  const Value* get_array(std::string_view key, ValueType element_type) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const TensorInfo& tensor) const;

 private:
  std::shared_ptr<MappedFile> mapping_;  // null when parsed from caller-owned bytes
  std::shared_ptr<const std::string> opened_;  // a sealed file's contents, opened in memory
  std::span<const uint8_t> bytes_;
  std::string name_;
  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  uint64_t header_size_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;

  friend class Parser;
};

// Builds a GGUF file. Metadata keeps insertion order; tensors are laid out in insertion order,
// each aligned to general.alignment (taken from the metadata if set, else 32) with zero padding.
// Writing a File's metadata and tensors back gives the same bytes as a file written this way.
class Writer {
 public:
  explicit Writer(uint32_t version = 3) : version_(version) {}

  // Values are checked when the file is written (to_bytes / write): items must match the array's
  // element type, integers must fit their type, general.alignment must be a u32 power of two.
  // Error(invalid_input) otherwise.
  void set(std::string key, Value value);  // replaces an existing key in place
  // `data` must outlive to_bytes() / write(). Error(invalid_input) when the name is empty or
  // already used, or the data size does not match the type and shape; Error(corrupt_file) from
  // tensor_bytes() for an impossible shape.
  void add_tensor(std::string name, TensorType type, std::vector<int64_t> ne,
                  std::span<const uint8_t> data);

  // Whether a file without tensors ends with the padding that aligns its (empty) data section.
  // Current llama.cpp writes it; older converters did not. Default true.
  void set_pad_empty_data_section(bool pad) { pad_empty_data_section_ = pad; }

  // Copies everything from a parsed file (metadata and tensors, in file order), including whether
  // an empty data section is padded, so that an unmodified copy writes the same bytes.
  static Writer copy_of(const File& file);

  std::vector<uint8_t> to_bytes() const;
  // Writes to `path` atomically: a temporary file beside it, fsync, rename. Error(io) on failure.
  // `seal`: sealed with that data key (crypto/sealed_file.h), for a user's adapters and
  // checkpoints; File::open reads such a file back into memory instead of mapping it.
  void write(const std::filesystem::path& path, const crypto::DataKey* seal = nullptr) const;

 private:
  struct PendingTensor {
    TensorInfo info;
    std::span<const uint8_t> data;
  };
  uint32_t version_;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<PendingTensor> tensors_;
  bool pad_empty_data_section_ = true;
};

// Bytes a tensor of this type and shape occupies; Error(corrupt_file) when ne[0] is not a
// multiple of the block size or the size overflows 64 bits.
uint64_t tensor_bytes(TensorType type, std::span<const int64_t> ne);

}  // namespace hearth::gguf
