// A GGUF writer that streams tensor data to disk instead of holding it (gguf::Writer needs every
// tensor's bytes alive until write()). The header — metadata, then every tensor's name, shape,
// type and offset — is known up front and written first; tensor data then follows in the same
// order, appended piece by piece, each tensor zero-padded to the alignment. The layout is exactly
// the one gguf::Writer produces (so a copy written either way is byte-identical).
//
// Atomic like gguf::Writer::write: everything goes to "<path>.tmp-<pid>", which finish() fsyncs
// and renames onto `path`; a writer destroyed before finish() removes the temporary file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"

namespace hearth::quantize {

struct TensorSpec {
  std::string name;
  gguf::TensorType type = gguf::TensorType::f32;
  std::vector<int64_t> ne;
};

class StreamWriter {
 public:
  // Validates the header (as gguf::Writer does), creates the temporary file and writes the header.
  // Errors: invalid_input for bad metadata or shapes, io when the file cannot be written.
  StreamWriter(std::filesystem::path path,
               const std::vector<std::pair<std::string, gguf::Value>>& metadata,
               std::vector<TensorSpec> tensors, uint32_t version = 3);
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  // Appends bytes of the current tensor (tensors in the order given). A piece may not run past
  // the end of the current tensor; the padding after a complete tensor is written automatically.
  void append(std::span<const uint8_t> bytes);
  // The tensor whose bytes append() expects next (== tensors().size() when all are written).
  size_t current_tensor() const { return current_; }
  const std::vector<TensorSpec>& tensors() const { return tensors_; }
  uint64_t tensor_bytes(size_t i) const { return sizes_[i]; }
  // Checks that every tensor is complete, then syncs and renames onto the final path.
  void finish();
  // Total bytes of the file once finished.
  uint64_t file_size() const { return total_size_; }
  // The size a file with this header would have, without writing anything.
  static uint64_t planned_size(const std::vector<std::pair<std::string, gguf::Value>>& metadata,
                               const std::vector<TensorSpec>& tensors, uint32_t version = 3);

 private:
  void write_raw(const uint8_t* data, size_t n);
  void flush();
  void pad_current();

  std::filesystem::path path_;
  std::filesystem::path temp_;
  int fd_ = -1;
  std::vector<TensorSpec> tensors_;
  std::vector<uint64_t> sizes_;
  uint32_t alignment_ = 32;
  size_t current_ = 0;
  uint64_t written_in_current_ = 0;
  uint64_t position_ = 0;
  uint64_t total_size_ = 0;
  std::vector<uint8_t> buffer_;
  bool finished_ = false;
};

}  // namespace hearth::quantize
