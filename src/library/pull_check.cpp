// See pull_check.h. The model is run with the engine's model layer directly: one sequence, fed
// the prompt in one batch, then one token per decode step.
#include "library/pull_check.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <span>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/kernels/matmul.h"
#include "engine/model/context.h"
#include "engine/model/model.h"

namespace hearth::library {

PullCheck check_pulled_model(const std::filesystem::path& gguf, int n_tokens) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  PullCheck check;
  const auto t0 = Clock::now();
  const std::shared_ptr<const model::Model> model = model::Model::load(gguf);
  ThreadPool pool(static_cast<size_t>(config::get_int("HEARTH_THREADS", 0, 1024)));
  model::ContextOptions options;
  options.n_ctx = 256;
  options.matmul = kernels::default_matmul_options(&pool);
  model::Context context(model, options);
  const auto t1 = Clock::now();
  check.load_seconds = seconds(t0, t1);

  const std::vector<int32_t> prompt =
      model->tokenizer().encode("The capital of France is", true, false);
  if (prompt.empty()) throw Error(ErrorKind::corrupt_file, "the model's tokenizer gives no tokens");
  if (static_cast<int>(prompt.size()) + n_tokens > options.n_ctx)
    throw Error(ErrorKind::internal, "the check's prompt does not fit its context");
  check.prompt_tokens = static_cast<int>(prompt.size());
  std::vector<model::BatchEntry> batch;
  int pos = 0;
  for (size_t i = 0; i < prompt.size(); ++i)
    batch.push_back({prompt[i], pos++, 0, i + 1 == prompt.size()});
  model::Logits logits = context.decode(batch);

  const auto t2 = Clock::now();
  for (int i = 0; i < n_tokens; ++i) {
    auto row = logits[0];
    const int32_t id =
        static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    ++check.generated_tokens;
    if (i + 1 < n_tokens) {
      const model::BatchEntry next{id, pos++, 0, true};
      logits = context.decode(std::span(&next, 1));
    }
  }
  const auto t3 = Clock::now();
  check.generate_seconds = seconds(t2, t3);
  // The first token comes from the prompt's logits; speed counts the decode steps after it.
  const int steps = std::max(1, n_tokens - 1);
  check.tokens_per_second = check.generate_seconds > 0 ? steps / check.generate_seconds : 0;
  return check;
}

}  // namespace hearth::library
