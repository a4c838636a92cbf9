// Synthetic models: GGUF files with the shapes of real models (Llama 3.2 1B/3B, Qwen2.5 1.5B, a
// tiny one for tests) and seeded random weights, for benchmarks and tests without downloading
// anything. The weights are random — the files compute garbage — and general.name says so.
//
// Initialisation, as the conformance pack's models: matrices N(0, (1.5/√fan_in)²), token_embd
// N(0, (2.4/√n_embd)²) (so logits have a standard deviation near 2.4), norm weights 1 + N(0, 0.1²),
// biases N(0, 0.1²); Llama 3.2 shapes carry rope_freqs.weight with the Llama 3 frequency scaling
// (factor 32, low/high frequency factors 1/4, original context 8192). Normal variates are the
// sum of four uniforms (Irwin–Hall, rescaled): exactly mean 0 and the requested deviation, tails
// cut at ±3.46σ. Every row draws from its own generator seeded by (seed, tensor name, row), so
// the file depends only on the seed, not on the thread count.
//
// Embeddings are tied (no output.weight). Tensor types follow the preset's rules (recipe.h), as
// if the model had been converted at F32 and quantized by llama-quantize.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/model/arch.h"
#include "engine/quantize/model_quantizer.h"
#include "engine/quantize/recipe.h"

namespace hearth::quantize {

struct SynthShape {
  std::string_view name;
  std::string_view arch;  // the real model's architecture
  int n_layer;
  int n_embd;
  int n_head;
  int n_head_kv;
  int n_ff;
  int n_vocab;
  int n_ctx;
  float rope_base;
  float rms_eps;
  bool llama3_rope;  // rope_freqs.weight with the Llama 3 scaling (llama arch only)
};

std::span<const SynthShape> synth_shapes();
const SynthShape* find_synth_shape(std::string_view name);
std::string synth_shape_names();  // "llama-3.2-1b, ..."

struct SynthOptions {
  std::string arch;   // "llama" or "qwen2"; empty: the shape's
  std::string shape;  // a synth_shapes() name
  std::string preset = "F16";
  std::optional<std::filesystem::path> vocab;  // copy tokenizer.* keys (and n_vocab) from here
  uint64_t seed = 1;
};

enum class SynthInit { normal, norm, rope_freqs };

struct SynthTensor {
  std::string name;
  std::vector<int64_t> ne;
  TensorType type = TensorType::f32;
  SynthInit init = SynthInit::normal;
  float sd = 0;  // standard deviation (normal, norm)
};

struct SynthPlan {
  std::string arch;
  const SynthShape* shape = nullptr;
  model::Hparams hparams;  // the shape as written (with the plan's arch and n_vocab)
  const Preset* preset = nullptr;
  uint64_t seed = 1;
  int n_vocab = 0;
  std::vector<std::pair<std::string, gguf::Value>> metadata;
  std::vector<SynthTensor> tensors;  // in file order
  uint64_t parameter_count = 0;
  uint64_t file_size = 0;  // of the file write_synth() produces
  std::vector<std::string> notes;  // things the caller may want to tell the user
};

// Plans the file without writing anything (reads the vocabulary file, if any).
// Errors: invalid_input for an unknown arch, shape or preset; not_found / corrupt_file for the
// vocabulary file (which must hold tokenizer.ggml.tokens).
SynthPlan plan_synth(const SynthOptions& options);

// Writes the planned model to `out` (atomically replaced), streaming: memory stays at a few
// chunks of rows whatever the model size. Returns the file size.
uint64_t write_synth(const SynthPlan& plan, const std::filesystem::path& out,
                     const std::function<void(const TensorProgress&)>& on_tensor = {},
                     size_t n_threads = 0);

}  // namespace hearth::quantize
