#include "cli/pull_check.h"

#include <algorithm>
#include <chrono>

#include "cli/model_session.h"
#include "core/error.h"

namespace hearth::cli {

PullCheck check_pulled_model(const std::filesystem::path& gguf, int n_tokens) {
  using Clock = std::chrono::steady_clock;
  auto seconds = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
  };
  PullCheck check;
  const auto t0 = Clock::now();
  ModelOptions options;
  options.model = gguf.string();
  options.n_ctx = 256;
  auto model = load_model(options);
  const auto t1 = Clock::now();
  check.load_seconds = seconds(t0, t1);

  std::vector<int32_t> prompt = model->tokenizer().encode("The capital of France is", true, false);
  if (prompt.empty()) throw Error(ErrorKind::corrupt_file, "the model's tokenizer gives no tokens");
  check.prompt_tokens = static_cast<int>(prompt.size());
  auto logits = model->feed(0, prompt, false);

  const auto t2 = Clock::now();
  for (int i = 0; i < n_tokens; ++i) {
    int32_t id = generate::greedy_token(logits[0]);
    ++check.generated_tokens;
    if (i + 1 < n_tokens) logits = model->feed(0, std::span(&id, 1), false);
  }
  const auto t3 = Clock::now();
  check.generate_seconds = seconds(t2, t3);
  // The first token comes from the prompt's logits; speed counts the decode steps after it.
  const int steps = std::max(1, n_tokens - 1);
  check.tokens_per_second = check.generate_seconds > 0 ? steps / check.generate_seconds : 0;
  return check;
}

}  // namespace hearth::cli
