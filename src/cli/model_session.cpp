#include "cli/model_session.h"

#include "cli/model_resolve.h"

namespace hearth::cli {

void ModelOptions::add_to(CLI::App* command) {
  command->add_option("model", model, "installed model name[:tag] or GGUF file")->required();
  add_user_option(command);
  command->add_option("--ctx", n_ctx, "context length in tokens (default: model's, at most 4096)")
      ->check(CLI::Range(0, 1 << 20));
  command->add_option("--threads", threads, "compute threads (default: HEARTH_THREADS or cores)")
      ->check(CLI::Range(0, 1024));
}

std::unique_ptr<generate::ModelRunner> load_model(const ModelOptions& options,
                                                  generate::RunnerOptions runner) {
  runner.n_ctx = options.n_ctx;
  runner.threads = options.threads;
  runner.n_seq = 1;
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
