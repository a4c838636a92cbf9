#include "cli/model_session.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "cli/model_resolve.h"
#include "core/config.h"
#include "core/error.h"

namespace hearth::cli {

void ModelOptions::add_to(CLI::App* command) {
  command->add_option("model", model, "installed model name[:tag] or GGUF file")->required();
  add_user_option(command);
  command->add_option("--ctx", n_ctx, "context length in tokens (default: model's, at most 4096)")
      ->check(CLI::Range(0, 1 << 20));
  command->add_option("--threads", threads, "compute threads (default: HEARTH_THREADS or cores)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--lora", lora,
                      "LoRA adapter ADAPTER.gguf[:SCALE] (llama.cpp's format) applied to the model; "
                      "SCALE defaults to 1.0; repeat for several adapters");
  add_gpu_options(command, gpu_layers, gpu_device);
}

void add_gpu_options(CLI::App* command, std::string& gpu_layers, int& gpu_device) {
  command->add_option("--gpu-layers", gpu_layers,
                      "layers on the GPU (Vulkan): auto (as many as fit; the CPU without a GPU), "
                      "all, or a number of the last layers, 0 for the CPU only (default: "
                      "HEARTH_GPU_LAYERS, auto)");
  command->add_option("--gpu-device", gpu_device,
                      "Vulkan device index for the GPU layers, as `hearth hw` lists them "
                      "(default: the first GPU)")
      ->check(CLI::Range(-1, 64));
}

generate::LoraFile parse_lora_option(const std::string& value) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || std::filesystem::exists(value)) return {value, 1.0f};
  const std::string path = value.substr(0, colon), scale_text = value.substr(colon + 1);
  char* end = nullptr;
  const float scale = std::strtof(scale_text.c_str(), &end);
  if (scale_text.empty() || end != scale_text.c_str() + scale_text.size() || !std::isfinite(scale))
    throw Error(ErrorKind::invalid_input, "--lora " + value + ": the scale '" + scale_text +
                                              "' is not a number (use ADAPTER.gguf:SCALE, "
                                              "e.g. adapter.gguf:0.5)");
  return {path, scale};
}

std::unique_ptr<generate::ModelRunner> load_model(const ModelOptions& options,
                                                  generate::RunnerOptions runner) {
  runner.n_ctx = options.n_ctx;
  runner.threads = options.threads;
  runner.n_seq = 1;
  for (const std::string& value : options.lora) runner.adapters.push_back(parse_lora_option(value));
  runner.gpu_layers =
      options.gpu_layers.empty()
          ? generate::parse_gpu_layers(config::get("HEARTH_GPU_LAYERS"), "HEARTH_GPU_LAYERS")
          : generate::parse_gpu_layers(options.gpu_layers, "--gpu-layers");
  runner.gpu_device = options.gpu_device;
  return generate::ModelRunner::load(model_file_to_load(options.model), runner);
}

std::string ids_text(std::span<const int32_t> ids) {
  std::string s;
  for (int32_t id : ids) {
    if (!s.empty()) s += ' ';
    s += std::to_string(id);
  }
  return s;
}

}  // namespace hearth::cli
