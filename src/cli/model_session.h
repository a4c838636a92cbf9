// What the model-running commands (run, generate, logits) share: the options that pick a model
// file and size its context, and a loaded model with one sequence to feed.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "engine/model/context.h"

namespace hearth::cli {

struct ModelOptions {
  std::string model;  // an installed model name[:tag] or a GGUF path (cli/model_resolve.h)
  int n_ctx = 0;      // 0: the model's training context, at most 4096
  int threads = 0;    // 0: HEARTH_THREADS, else one per core

  void add_to(CLI::App* command);
};

// A model, its thread pool and a context holding sequence 0.
class ModelSession {
 public:
  explicit ModelSession(const ModelOptions& options);

  const model::Model& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return model_->tokenizer(); }
  model::Context& context() { return *context_; }

  // Appends tokens to sequence 0 (in batches), returning the logits of every appended position
  // when all_logits, else only of the last one. Error(invalid_input) when the context is full.
  model::Logits feed(std::span<const int32_t> tokens, bool all_logits);

 private:
  std::shared_ptr<const model::Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<model::Context> context_;
};

// Token ids as "1 2 3".
std::string ids_text(std::span<const int32_t> ids);

}  // namespace hearth::cli
