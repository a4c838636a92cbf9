// Binding a GGUF file's tensors to a model's weights, checking each one's shape and type.
//
// Errors: a required tensor that is missing, or any tensor whose shape differs from what the
// architecture expects, raises Error(corrupt_file) naming the file, the tensor and both shapes;
// a tensor type the kernels cannot compute with raises Error(unsupported).
// Internal to the model folder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/weights.h"

namespace hearth::model {

class TensorLoader {
 public:
  TensorLoader(const gguf::File& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  bool has(std::string_view name) const { return file_.find_tensor(name) != nullptr; }

  // A 2-D weight matrix [n_in, n_out].
  WeightMatrix matrix(std::string_view name, int64_t n_in, int64_t n_out) const;
  // One slice of a 3-D stack [n_in, n_out, n_slices] (MoE experts), checked as a whole.
  std::vector<WeightMatrix> matrix_stack(std::string_view name, int64_t n_in, int64_t n_out,
                                         int64_t n_slices) const;
  // A 1-D vector of n values, converted to F32.
  std::vector<float> vector(std::string_view name, int64_t n) const;

  const std::string& file_name() const { return file_.name(); }

 private:
  const gguf::TensorInfo& require(std::string_view name, const std::vector<int64_t>& ne) const;
  const uint8_t* data(const gguf::TensorInfo& t) const { return file_.tensor_data(t).data(); }

  const gguf::File& file_;
  std::string arch_;
};

// Binds every weight of the model that `spec` describes, in this order (the first missing or
// misshapen tensor is the one reported): token_embd, output_norm, output (or token_embd when
// absent), rope_freqs (where the family may have it), then per layer attn_norm, attn_output,
// ffn_norm, the attention projections (and biases), the q/k norms, the post norms, and the FFN
// or the experts.
void load_weights(const TensorLoader& l, const ArchSpec& spec, const Hparams& hp, ModelWeights& w);

}  // namespace hearth::model
