#include "cli/model_session.h"

#include <algorithm>

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
}

ModelSession::ModelSession(const ModelOptions& options) {
  model_ = model::Model::load(model_file_to_load(options.model));
  int threads = options.threads;
  if (threads == 0) threads = static_cast<int>(config::get_int("HEARTH_THREADS", 0, 1024));
  pool_ = std::make_unique<ThreadPool>(static_cast<size_t>(threads));
  model::ContextOptions ctx;
  ctx.n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(4096, std::max(1, model_->hparams().n_ctx_train));
  ctx.matmul = kernels::default_matmul_options(pool_.get());
  context_ = std::make_unique<model::Context>(model_, ctx);
}

model::Logits ModelSession::feed(std::span<const int32_t> tokens, bool all_logits) {
  constexpr size_t kBatch = 512;
  const int n_vocab = model_->n_vocab();
  std::vector<float> collected;
  model::Logits last;
  int pos = context_->n_past(0);
  if (pos + static_cast<int64_t>(tokens.size()) > context_->n_ctx())
    throw Error(ErrorKind::invalid_input,
                "the conversation needs " + std::to_string(pos + tokens.size()) +
                    " tokens but the context holds " + std::to_string(context_->n_ctx()) +
                    "; start again or pass a larger --ctx");
  for (size_t start = 0; start < tokens.size(); start += kBatch) {
    const size_t end = std::min(tokens.size(), start + kBatch);
    std::vector<model::BatchEntry> batch;
    for (size_t i = start; i < end; ++i)
      batch.push_back({tokens[i], pos++, 0, all_logits || i + 1 == tokens.size()});
    last = context_->decode(batch);
    if (all_logits)
      for (size_t r = 0; r < last.size(); ++r)
        collected.insert(collected.end(), last[r].begin(), last[r].end());
  }
  return all_logits ? model::Logits(n_vocab, std::move(collected)) : last;
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
