// What the model-running commands (run, generate, logits, bench) share: the options that pick a
// model file and size its context, and loading it into a generation runner.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/generate/runner.h"

namespace hearth::cli {

struct ModelOptions {
  std::string model;  // an installed model name[:tag] or a GGUF path (cli/model_resolve.h)
  int n_ctx = 0;      // 0: the model's training context, at most 4096
  int threads = 0;    // 0: HEARTH_THREADS, else one per core
  std::vector<std::string> lora;  // --lora ADAPTER.gguf[:SCALE], repeatable (parse_lora_option)
  std::string gpu_layers;  // --gpu-layers auto|all|N; empty: the gpu_layers setting
  int gpu_device = -1;     // --gpu-device: a Vulkan device index (`hearth hw`); -1 the first GPU

  void add_to(CLI::App* command);
};

// `--gpu-layers` and `--gpu-device`, into the given strings (ModelOptions, hearth bench).
void add_gpu_options(CLI::App* command, std::string& gpu_layers, int& gpu_device);

// `--lora ADAPTER.gguf[:SCALE]`: the file and its scale (1.0 when absent). A value naming an
// existing file is taken whole (a path may hold ':'); otherwise the text after the last ':' is
// the scale, and Error(invalid_input) when it is not a finite number.
generate::LoraFile parse_lora_option(const std::string& value);

// The model with one sequence (slot 0) of options.n_ctx tokens, the --lora adapters and the GPU
// layers (--gpu-layers, else HEARTH_GPU_LAYERS); `runner` gives the rest (keep_conversation,
// batch size, KV type).
std::unique_ptr<generate::ModelRunner> load_model(const ModelOptions& options,
                                                  generate::RunnerOptions runner = {});

// Token ids as "1 2 3".
std::string ids_text(std::span<const int32_t> ids);

}  // namespace hearth::cli
