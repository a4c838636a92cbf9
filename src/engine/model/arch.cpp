#include "engine/model/arch.h"

#include <algorithm>

namespace hearth::model {

namespace {

// One row per family. llama covers LLaMA 1-3, Mistral and Mixtral (experts when
// <arch>.expert_count > 0; Llama 3.1+ files carry rope_freqs.weight); qwen2 is llama's block with
// Q/K/V biases; phi3 fuses Q/K/V into attn_qkv and the FFN's gate and up into one ffn_up. qwen3
// drops qwen2's biases for a per-head RMSNorm of q and k (its head size comes from key_length,
// so q may be wider than the embedding). gemma3 adds to qwen3's norms the embedding scale, a
// norm on each block's output, a GELU gate and local layers with a sliding window.
constexpr auto kNeox = RopeStyle::neox, kNormal = RopeStyle::normal;
constexpr auto kSep = QkvLayout::separate, kFused = QkvLayout::fused;
constexpr auto kGated = FfnLayout::gated, kFusedGU = FfnLayout::fused_gate_up;
constexpr auto kSilu = FfnActivation::silu, kGelu = FfnActivation::gelu_tanh;
// clang-format off
constexpr ArchSpec kArchs[] = {
    // name     rope     qkv     bias   ffn       experts rope_freqs qk_norm post_norms embd_scale act    swa
    {"llama",  kNormal, kSep,   false, kGated,   true,   true,      false,  false,     false,     kSilu, false},
    {"qwen2",  kNeox,   kSep,   true,  kGated,   false,  false,     false,  false,     false,     kSilu, false},
    {"phi3",   kNeox,   kFused, false, kFusedGU, false,  false,     false,  false,     false,     kSilu, false},
    {"qwen3",  kNeox,   kSep,   false, kGated,   false,  false,     true,   false,     false,     kSilu, false},
    {"gemma3", kNeox,   kSep,   false, kGated,   false,  false,     true,   true,      true,      kGelu, true},
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

bool plain_llama_block(const ArchSpec& spec) {
  return !spec.qk_norm && !spec.post_norms && !spec.embd_scale &&
         spec.act == FfnActivation::silu && !spec.sliding_window;
}

std::vector<uint8_t> swa_layers_of_pattern(int n_layer, int pattern) {
  std::vector<uint8_t> local(static_cast<size_t>(std::max(0, n_layer)), 0);
  for (int il = 0; il < n_layer; ++il)
    local[static_cast<size_t>(il)] = pattern <= 0 || il % pattern < pattern - 1;
  return local;
}

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
