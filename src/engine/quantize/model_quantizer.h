// Quantizing a whole GGUF model file, tensor by tensor, as llama-quantize does: the preset's
// per-tensor types (recipe.h), metadata copied with general.quantization_version = 2 and
// general.file_type = the preset's llama_ftype appended at the end, tensors written in
// llama.cpp's order. The input is read through its mapping and the output streamed to disk
// (stream_writer.h), a bounded chunk of rows at a time, so memory stays small whatever the model
// size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/quantize/recipe.h"
#include "engine/quantize/stream_writer.h"

namespace hearth::quantize {

struct TensorProgress {
  size_t index = 0;  // 0-based, in output order
  size_t count = 0;
  std::string_view name;
  std::vector<int64_t> ne;
  TensorType from = TensorType::f32;
  TensorType to = TensorType::f32;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool converted = false;  // false: copied unchanged
};

struct QuantizeCallbacks {
  std::function<void(const TensorProgress&)> on_tensor;  // after each tensor is written
  std::function<void(const std::string&)> on_warning;
};

struct QuantizeSummary {
  uint64_t bytes_in = 0;   // tensor data
  uint64_t bytes_out = 0;  // tensor data
  uint64_t file_size = 0;
  size_t n_converted = 0;
  size_t n_copied = 0;
};

// Quantizes `in` into `out` (atomically replaced). n_threads 0: one per core.
// Errors: not_found / corrupt_file / unsupported from reading, unsupported when a tensor must be
// converted from a type hearth cannot decode, io from writing.
QuantizeSummary quantize_file(const std::filesystem::path& in, const std::filesystem::path& out,
                              const Preset& preset, const QuantizeCallbacks& callbacks = {},
                              size_t n_threads = 0);

// A change to one tensor's values on the way through (`hearth merge` folds an adapter in):
// `apply(first, n, rows)` gets rows [first, first + n) of the tensor `name` as F32, n_in values
// each, and changes them in place; it is called concurrently on disjoint rows.
struct TensorEdit {
  std::string name;
  std::function<void(int64_t first, int64_t n, float* rows)> apply;
};

// What quantize_file does, with edits, and with `preset` nullptr keeping every tensor's own type
// and the metadata as they are (an edited tensor is then re-encoded in its own type: Error
// (unsupported) naming it when hearth cannot encode that type). An edit naming no tensor of the
// file is Error(invalid_input).
QuantizeSummary rewrite_file(const std::filesystem::path& in, const std::filesystem::path& out,
                             const Preset* preset, std::span<const TensorEdit> edits,
                             const QuantizeCallbacks& callbacks = {}, size_t n_threads = 0);

// Converts a tensor's rows: `rows` rows of ne0 values from `src` (type `from`) into `to`,
// appended to the writer; uses `pool_threads` threads (0: one per core). Shared with synth.
class RowConverter {
 public:
  explicit RowConverter(size_t n_threads = 0);
  ~RowConverter();
  RowConverter(const RowConverter&) = delete;
  RowConverter& operator=(const RowConverter&) = delete;

  void convert(TensorType from, const uint8_t* src, int64_t ne0, int64_t rows, TensorType to,
               StreamWriter& writer);
  // Quantizes F32 rows produced by `fill(first_row, n_rows, out)` (called concurrently on
  // disjoint ranges) into `to`, appended to the writer.
  void generate(int64_t ne0, int64_t rows, TensorType to,
                const std::function<void(int64_t, int64_t, float*)>& fill, StreamWriter& writer);
  size_t n_threads() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The metadata of a quantized file: `source` minus split keys, general.quantization_version and
// general.file_type, then those two appended (as llama.cpp's gguf_set_val does).
std::vector<std::pair<std::string, gguf::Value>> quantized_metadata(
    const std::vector<std::pair<std::string, gguf::Value>>& source, uint32_t file_type);

}  // namespace hearth::quantize
