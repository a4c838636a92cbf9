#include "engine/model/arch.h"

namespace hearth::model {

namespace {

// One row per family. llama covers LLaMA 1-3, Mistral and Mixtral (experts when
// <arch>.expert_count > 0; Llama 3.1+ files carry rope_freqs.weight); qwen2 is llama's block with
// Q/K/V biases; phi3 fuses Q/K/V into attn_qkv and the FFN's gate and up into one ffn_up.
// clang-format off
constexpr ArchSpec kArchs[] = {
    // name     rope               qkv                 qkv_bias ffn                     experts rope_freqs
    {"llama", RopeStyle::normal, QkvLayout::separate, false, FfnLayout::gated,         true,  true},
    {"qwen2", RopeStyle::neox,   QkvLayout::separate, true,  FfnLayout::gated,         false, false},
    {"phi3",  RopeStyle::neox,   QkvLayout::fused,    false, FfnLayout::fused_gate_up, false, false},
};
// clang-format on

}  // namespace

std::string metadata_key(std::string_view arch, std::string_view suffix) {
  std::string key(arch);
  key += '.';
  key += suffix;
  return key;
}

std::string layer_tensor(int layer, std::string_view suffix) {
  return "blk." + std::to_string(layer) + "." + std::string(suffix);
}

std::span<const ArchSpec> architectures() { return kArchs; }

const ArchSpec* find_arch(std::string_view arch) {
  for (const ArchSpec& spec : kArchs)
    if (spec.name == arch) return &spec;
  return nullptr;
}

std::string architecture_names() {
  std::string names;
  for (const ArchSpec& spec : kArchs) names += (names.empty() ? "" : ", ") + std::string(spec.name);
  return names;
}

}  // namespace hearth::model
