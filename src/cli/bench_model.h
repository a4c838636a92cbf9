// `hearth bench MODEL`: prompt-processing and generation speed of one model file (see
// bench_model.cpp).
#pragma once

#include <string>
#include <vector>

#include "engine/model/kv_cache.h"

namespace hearth::cli {

struct ModelBenchOptions {
  std::string model;
  int n_prompt = 128;        // -p: tokens of the prompt decoded in one batch
  int n_gen = 64;            // -n: single-token generation steps
  int threads = 0;           // -t: 0 = HEARTH_THREADS, else the physical cores
  int repetitions = 3;       // -r
  // -d: tokens already in the cache when pp and tg are measured (llama-bench's depth), one
  // measurement per value, in the order given.
  std::vector<int> depths = {0};
  model::KvType kv_type = model::KvType::f16;  // --kv-cache (the server's default type)
  std::string gpu_layers;    // --gpu-layers auto|all|N (empty: HEARTH_GPU_LAYERS)
  int gpu_device = -1;       // --gpu-device
  bool json = false;         // --json: one JSON object instead of the table
  double bandwidth_mib = 1024;  // size of the read-bandwidth buffer
};

void run_model_bench(const ModelBenchOptions& options);

}  // namespace hearth::cli
