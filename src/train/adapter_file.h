// LoRA adapters as GGUF files, in the layout llama.cpp writes and loads (llama-export-lora,
// llama-server --lora), so an adapter trained here works in any llama.cpp-based tool.
//
// File format (version: the GGUF container's, 3 when written here):
//   general.architecture  the base model's architecture (string)
//   general.type          "adapter"
//   adapter.type          "lora"
//   adapter.lora.alpha    F32
//   for each adapted base weight <name> with ne = [n_in, n_out]:
//     <name>.lora_a  F32, ne = [n_in, r]   (r rows of n_in values: A)
//     <name>.lora_b  F32, ne = [r, n_out]  (n_out rows of r values: B)
// The adapted weight computes y = W x + scale · (alpha / r) · B (A x).
//
// In memory the row layout is the file's, so reading and writing copy bytes as they are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::train {

// The pair of low-rank factors of one adapted base weight.
struct LoraPair {
  std::string weight;  // the base tensor's name, e.g. "blk.0.attn_q.weight"
  int64_t n_in = 0;
  int64_t n_out = 0;
  int64_t rank = 0;
  std::vector<float> a;  // rank rows of n_in values
  std::vector<float> b;  // n_out rows of rank values
};

struct LoraAdapter {
  std::string arch;  // general.architecture of the base it was made for
  float alpha = 0;
  std::vector<LoraPair> pairs;  // in file order

  const LoraPair* find(std::string_view weight) const;
  LoraPair* find(std::string_view weight);
};

// Reads an adapter file. Errors: not_found / io as for any file; corrupt_file (naming the file
// and the tensor) when it is not a LoRA adapter, alpha is missing, a lora_a has no lora_b (or the
// reverse), a factor is not F32 or the two shapes disagree.
LoraAdapter read_adapter(const std::filesystem::path& path);

// Writes `adapter` atomically (temporary file, fsync, rename). Error(io) on failure.
void write_adapter(const LoraAdapter& adapter, const std::filesystem::path& path);

}  // namespace hearth::train
