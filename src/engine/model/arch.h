// Architectures as data (DESIGN.md §2): what differs between model families is a row here plus
// one small arch_<name>.cpp that binds the family's own tensors. Everything else (metadata keys,
// the common tensors, the forward pass) is shared.
//
// Metadata keys are "<arch>.<suffix>" with the suffixes below; tensors are named as in GGUF
// files written by llama.cpp's converters: token_embd.weight, output_norm.weight, output.weight
// (optional: absent means tied to token_embd), rope_freqs.weight (optional), and per layer
// blk.<i>.attn_norm.weight, attn_output.weight, ffn_norm.weight plus the family's own.
// Internal to the model folder.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "engine/gguf/gguf.h"
#include "engine/model/loader.h"
#include "engine/model/weights.h"

namespace hearth::model {

// Metadata key suffixes, appended to "<arch>.".
namespace keys {
inline constexpr std::string_view kContextLength = "context_length";
inline constexpr std::string_view kEmbeddingLength = "embedding_length";
inline constexpr std::string_view kBlockCount = "block_count";
inline constexpr std::string_view kFeedForwardLength = "feed_forward_length";
inline constexpr std::string_view kHeadCount = "attention.head_count";
inline constexpr std::string_view kHeadCountKv = "attention.head_count_kv";
inline constexpr std::string_view kRmsEps = "attention.layer_norm_rms_epsilon";
inline constexpr std::string_view kRopeFreqBase = "rope.freq_base";
inline constexpr std::string_view kRopeDimensionCount = "rope.dimension_count";
inline constexpr std::string_view kExpertCount = "expert_count";
inline constexpr std::string_view kExpertUsedCount = "expert_used_count";
}  // namespace keys

struct ArchSpec {
  std::string_view name;  // general.architecture
  RopeStyle rope_style;
  // Binds the family's own tensors of layer `il` (attention projections, FFN) and checks
  // anything the family requires of the hyperparameters.
  void (*load_layer)(const TensorLoader& loader, const Hparams& hp, int il, LayerWeights& w);
  // Optional model-level tensors of the family (rope_freqs); may be null.
  void (*load_extras)(const TensorLoader& loader, const Hparams& hp, ModelWeights& w);
};

// The row for `arch`; Error(unsupported) naming the supported architectures otherwise.
// `file_name` is used in the message.
const ArchSpec& find_arch(std::string_view arch, const std::string& file_name);

// Reads the hyperparameters of `spec`'s family from the file's metadata (n_vocab is left 0).
// Errors: corrupt_file for a missing required key or inconsistent values, unsupported for
// combinations hearth does not run (partial rotary dimensions).
Hparams read_hparams(const gguf::File& file, const ArchSpec& spec);

// The architecture files' entry points (arch_llama.cpp, arch_qwen2.cpp, arch_phi3.cpp).
void load_llama_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w);
void load_llama_extras(const TensorLoader& l, const Hparams& hp, ModelWeights& w);
void load_qwen2_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w);
void load_phi3_layer(const TensorLoader& l, const Hparams& hp, int il, LayerWeights& w);

}  // namespace hearth::model
