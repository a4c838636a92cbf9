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
#pragma once

#include <filesystem>
#include <string_view>

#include "crypto/keyring.h"
#include "engine/model/lora.h"

namespace hearth::train {

// The trainer's adapters are the engine's (engine/model/lora.h): A and B of each adapted weight
// in F32, in the file's row layout, trained in place.
using model::LoraAdapter;
using model::LoraWeight;

// Reads an adapter file for training: LoraAdapter::read's checks and errors, and
// Error(corrupt_file) when adapter.lora.alpha is missing (it fixes the update's scale).
LoraAdapter read_adapter(const std::filesystem::path& path);

// Writes `adapter` atomically (temporary file, fsync, rename). Error(io) on failure.
// `seal`: sealed with that data key (a user's adapter kept under HEARTH_HOME); plain otherwise.
// `name`: general.name, when given (what the adapter was trained as).
void write_adapter(const LoraAdapter& adapter, const std::filesystem::path& path,
                   const crypto::DataKey* seal = nullptr, std::string_view name = {});

}  // namespace hearth::train
