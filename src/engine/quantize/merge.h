// Folding LoRA adapters into a model's weights (`hearth merge`): for every adapted weight W
// (ne = [n_in, n_out]) the merged weight is
//   W' = W + Σ scale · (alpha / r) · B A
// computed in F32 row by row from the dequantized base, then written in the base tensor's own
// type (or the preset's type for it, with --type), so the merged file runs in hearth and in any
// llama.cpp-based tool without the adapter, giving what the base gives with it (up to the
// rounding of the written type).
#pragma once

#include <filesystem>
#include <span>
#include <vector>

#include "engine/model/lora.h"
#include "engine/quantize/model_quantizer.h"

namespace hearth::quantize {

// The edits that fold the adapters in (one per adapted weight; several adapters of the same
// weight add up). The adapters must have been checked against the base (LoraAdapter::load).
std::vector<TensorEdit> lora_edits(std::span<const model::AppliedLora> adapters);

// Loads `base` and each adapter (checked against it: architecture, names, shapes), then writes
// `out` atomically: every tensor in its own type when preset is nullptr, else as the preset
// plans. The errors of LoraAdapter::load and rewrite_file.
QuantizeSummary merge_adapters(const std::filesystem::path& base,
                               std::span<const std::pair<std::filesystem::path, float>> adapters,
                               const std::filesystem::path& out, const Preset* preset,
                               const QuantizeCallbacks& callbacks = {}, size_t n_threads = 0);

}  // namespace hearth::quantize
