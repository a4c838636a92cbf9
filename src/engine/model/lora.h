// LoRA adapters at inference: llama.cpp's GGUF adapter format, read, checked against a model and
// bound to the model's weight matrices, so that the forward pass adds each adapter's low-rank
// term to the product with the weight it adapts.
//
// File format (llama.cpp's, so adapters made by hearth, llama.cpp or Ollama load everywhere):
//   general.type = "adapter", adapter.type = "lora", general.architecture = the base's,
//   adapter.lora.alpha (float; absent or 0 means the user's scale is used as is, as llama.cpp does);
//   for every adapted base weight <name> with ne = [n_in, n_out]:
//     <name>.lora_a   ne = [n_in, r]    A: r rows of n_in values
//     <name>.lora_b   ne = [r, n_out]   B: n_out rows of r values
//   in any tensor type the kernels can dequantize (hearth keeps A and B in F32).
// Arithmetic, for every adapted weight W and every adapter applied (in the order given):
//   y = W x + Σ scale · (alpha / r) · B (A x)
// with A x and B (A x) F32 products; each term is added after W x, before any bias (llama.cpp's
// order).
//
// Which weights can be adapted: per layer attn_q, attn_k, attn_v, attn_qkv (phi3), attn_output,
// ffn_gate, ffn_up (phi3's fused gate-up of 2·n_ff rows included), ffn_down, ffn_gate_inp (the
// mixture-of-experts router), and output.weight when the model has its own. The stacked expert
// weights (ffn_*_exps) and token_embd.weight are refused as unsupported, naming the tensor.
//
// A LoraAdapter is plain data (the trainer builds and updates one in place); an AppliedLora is
// one in use at a scale; a LoraIndex is a set of applied adapters bound to one model, which is
// what a Context (context.h) holds and the forward pass reads. The index views A and B where they
// are, so values changed in place (not resized) take effect at the next decode.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/model.h"

namespace hearth::model {

// The metadata keys and tensor-name suffixes of the format.
namespace lora_keys {
inline constexpr std::string_view kGeneralType = "general.type";  // "adapter"
inline constexpr std::string_view kAdapterType = "adapter.type";  // "lora"
inline constexpr std::string_view kAlpha = "adapter.lora.alpha";
inline constexpr std::string_view kSuffixA = ".lora_a";
inline constexpr std::string_view kSuffixB = ".lora_b";
}  // namespace lora_keys

// The pair of matrices that adapts one base weight.
struct LoraWeight {
  std::string base;      // the base weight's name, e.g. "blk.0.attn_q.weight"
  int64_t n_in = 0;      // the base weight's ne[0]
  int64_t n_out = 0;     // the base weight's ne[1]
  int64_t rank = 0;      // r
  std::vector<float> a;  // A: rank rows of n_in values (ne [n_in, rank])
  std::vector<float> b;  // B: n_out rows of rank values (ne [rank, n_out])
};

struct LoraAdapter {
  std::string name;  // the file's name, for messages
  std::string arch;  // general.architecture
  float alpha = 0;   // adapter.lora.alpha (0 when absent)
  std::vector<LoraWeight> weights;  // in the order of their lora_a tensors in the file

  // The factor of B (A x) for `w` at the user's `scale`: scale · alpha / r (scale when alpha is
  // 0), in float as llama.cpp forms it.
  float effective_scale(const LoraWeight& w, float scale) const;
  // Bytes of A and B in memory, over all weights.
  std::uint64_t bytes() const;
  // The pair that adapts the base weight `base` ("blk.0.attn_q.weight"), or nullptr.
  const LoraWeight* find(std::string_view base) const;
  LoraWeight* find(std::string_view base);

  // Reads an adapter file on its own (checked against no model). Errors:
  //   invalid_input  general.type is not "adapter" (a model file, say);
  //   unsupported    adapter.type is not "lora", an adapted expert weight (ffn_*_exps) or
  //                  token_embd.weight, or a tensor type hearth cannot dequantize;
  //   corrupt_file   a tensor that is neither <name>.lora_a nor <name>.lora_b, one that is not
  //                  2-D, a lora_a without its lora_b or the reverse, or A and B whose ranks
  //                  differ (each names the tensor).
  static LoraAdapter read(const gguf::File& file);
  // Opens, reads and checks against `model` (check_adapter()); the GGUF reader's errors too.
  static std::shared_ptr<const LoraAdapter> load(const std::filesystem::path& path,
                                                 const Model& model);
};

// An adapter in use, at the user's scale (`--lora FILE:SCALE`).
struct AppliedLora {
  std::shared_ptr<const LoraAdapter> adapter;
  float scale = 1.0f;
};

// One term of a product with a base weight: scale · B (A x).
struct LoraTerm {
  WeightMatrix a;  // F32 [n_in, rank], viewing the adapter's A
  WeightMatrix b;  // F32 [rank, n_out], viewing the adapter's B
  float scale = 0;
};

// Adapters bound to a model's weight matrices. It views the adapters' A and B and the model's
// weights: both must outlive it (a Context keeps them alive).
class LoraIndex {
 public:
  LoraIndex() = default;
  // Binds every weight of every adapter to the model's matrix of that name (check_adapter()'s
  // errors for the first adapter that does not fit).
  LoraIndex(const Model& model, std::span<const AppliedLora> adapters);

  // The terms added to products with `w` (a matrix of the model's weights()), or nullptr.
  const std::vector<LoraTerm>* find(const WeightMatrix& w) const;
  bool empty() const { return terms_.empty(); }

 private:
  std::unordered_map<const WeightMatrix*, std::vector<LoraTerm>> terms_;
};

// Whether `adapter` fits `model`. Errors (invalid_input): another architecture than the model's
// (or none); a weight the model does not have; A or B whose shape does not match the base weight
// (naming the tensor and both shapes).
void check_adapter(const LoraAdapter& adapter, const Model& model);

}  // namespace hearth::model
