// File-level quantization recipes: the presets of llama-quantize (Q4_K_M, Q8_0, ...) and, for a
// given model, which type each tensor gets — llama.cpp's llama_tensor_get_type rules for the
// presets hearth supports, so that `hearth quantize` picks the same types as llama-quantize
// without an importance matrix:
//   - only tensors whose name ends in "weight", with 2+ dimensions, not norms ("_norm.weight"),
//     not the MoE router (ffn_gate_inp) are quantized; the rest are copied unchanged;
//   - output.weight (or token_embd.weight when there is no output.weight: tied embeddings) gets
//     Q6_K unless the preset's type is Q8_0 (Q8_0 when its rows do not split into blocks);
//   - attn_v / ffn_down get more bits in some layers for the _M presets ("use_more_bits": the
//     first and last eighth of the layers and every third layer in between), Q2_K / Q3_K_M /
//     IQ4_NL have their own attn_v / ffn_down / attn_output / attn_qkv rules, 8-expert models
//     get Q8_0 attn_v / attn_k;
//   - a row width that is not a multiple of the chosen type's block size falls back (Q2_K/Q3_K →
//     IQ4_NL, Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, then F16 if even that does not fit).
// The layer counters follow llama.cpp's tensor order (llama_model_order below).
// Not reproduced: llama.cpp's 70B-specific attn_v bump and the Falcon-specific rules.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"

namespace hearth::quantize {

using gguf::TensorType;

struct Preset {
  std::string_view name;   // as llama-quantize spells it: "Q4_K_M"
  uint32_t file_type;      // llama_ftype, stored as general.file_type
  TensorType base;         // the type most tensors get
};

std::span<const Preset> presets();
// Case-insensitive; nullptr when unknown.
const Preset* find_preset(std::string_view name);
// "Q8_0, Q4_0, ..." for error messages.
std::string preset_names();

// What the rules need to know about the model: its shape (arch, n_layer, n_head, n_head_kv,
// n_expert are used) and whether an output.weight tensor exists (else embeddings are tied).
struct ModelFacts {
  model::Hparams shape;
  bool has_output = false;
};

struct TensorDesc {
  std::string name;
  std::vector<int64_t> ne;
  TensorType type = TensorType::f32;  // the source type
};

// Reads the facts from a file's metadata (model::describe as stored: any architecture) and
// tensor list. Error(corrupt_file) when the architecture or block count is missing.
ModelFacts model_facts(const gguf::File& file);

// llama.cpp's order of a model's tensors (its loader keeps them in a map ordered by layer number
// — tensors outside "blk.N." first — then by name); the quantized file is written in this order
// and the layer counters of the rules advance in it. Returns indexes into `tensors`.
std::vector<size_t> llama_model_order(std::span<const TensorDesc> tensors);

// Whether llama-quantize would quantize this tensor at all (name and shape rules above).
bool is_quantizable(const TensorDesc& tensor);

// The type of every tensor, for tensors given in llama_model_order. A tensor that is not
// quantizable keeps its type; non-quantized presets (F16, BF16, F32) convert every quantizable
// tensor to their type.
std::vector<TensorType> plan_tensor_types(const Preset& preset, const ModelFacts& facts,
                                          std::span<const TensorDesc> ordered);

}  // namespace hearth::quantize
