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

  void add_to(CLI::App* command);
};

// The model with one sequence (slot 0) of options.n_ctx tokens; `runner` gives the rest
// (keep_conversation, batch size, KV type).
std::unique_ptr<generate::ModelRunner> load_model(const ModelOptions& options,
                                                  generate::RunnerOptions runner = {});

// Token ids as "1 2 3".
std::string ids_text(std::span<const int32_t> ids);

}  // namespace hearth::cli
