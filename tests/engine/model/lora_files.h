// Small LoRA adapter files for tests, written with hearth's GGUF writer in llama.cpp's adapter
// layout (engine/model/lora.h), and a base model with an adapter folded into its weights
// (W + s · B A, stored as F32) to check the adapter's arithmetic against.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hearth::model::test {

// One tensor of an adapter file, F32.
struct AdapterTensor {
  std::string name;          // "<base weight>.lora_a" or ".lora_b", or anything a test needs
  std::vector<int64_t> ne;   // GGML order
  std::vector<float> values;
};

struct AdapterFile {
  std::string arch = "llama";           // general.architecture ("" leaves it out)
  std::string general_type = "adapter";
  std::string adapter_type = "lora";
  float alpha = 8;
  std::vector<AdapterTensor> tensors;
};

void write_adapter(const std::filesystem::path& path, const AdapterFile& file);

// A random pair for base weight `base` of shape [n_in, n_out] at rank r: lora_a then lora_b.
void add_random_pair(AdapterFile& file, const std::string& base, int64_t n_in, int64_t n_out,
                     int64_t rank, uint32_t seed);

// A random rank-r adapter for every weight of the model file whose per-layer suffix is in
// `suffixes` (e.g. "attn_q.weight"), with the model's architecture.
AdapterFile random_adapter(const std::filesystem::path& model, const std::vector<std::string>& suffixes,
                           int64_t rank, float alpha, uint32_t seed);

// Writes `model` with `adapter` at `scale` folded in: each adapted weight becomes the F32 matrix
// W + scale · (alpha / r) · B A (W dequantized exactly, the sum formed in double).
void write_merged(const std::filesystem::path& model, const AdapterFile& adapter, float scale,
                  const std::filesystem::path& out);

}  // namespace hearth::model::test
