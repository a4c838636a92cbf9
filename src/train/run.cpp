// See run.h.
#include "train/run.h"

#include <chrono>
#include <numeric>
#include <random>

#include "core/error.h"

namespace hearth::train {

DataOrder::DataOrder(size_t n, bool shuffle, uint64_t seed) : n_(n), shuffle_(shuffle), seed_(seed) {
  if (n_ == 0) throw Error(ErrorKind::invalid_input, "no training examples");
}

size_t DataOrder::at(int64_t position) {
  const auto epoch = static_cast<uint64_t>(position) / n_;
  if (epoch != epoch_) {
    epoch_ = epoch;
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), size_t{0});
    if (shuffle_) {
      std::mt19937_64 rng(seed_ + epoch);
      for (size_t i = n_; i > 1; --i) std::swap(order_[i - 1], order_[rng() % i]);
    }
  }
  return order_[static_cast<uint64_t>(position) % n_];
}

RunResult run_training(Trainer& trainer, std::span<const Example> examples,
                       std::span<const Example> eval_examples, const RunOptions& o,
                       const std::optional<Checkpoint>& resume,
                       const std::function<void(const StepReport&)>& on_step,
                       const std::atomic<bool>* stop) {
  if (o.batch < 1) throw Error(ErrorKind::invalid_input, "the batch must hold at least 1 sequence");
  RunState state;
  std::optional<LoraAdapter> best;
  if (resume) {
    trainer.restore(resume->adapter, resume->optimizer);
    state = resume->run;
    best = resume->best;
  }
  state.settings = o.settings;
  DataOrder order(examples.size(), o.shuffle, o.seed);
  const bool evaluating = !eval_examples.empty() && o.eval_every > 0;
  auto checkpoint = [&] {
    if (o.checkpoint_dir.empty()) return;
    write_checkpoint(o.checkpoint_dir, {trainer.adapter(), trainer.optimizer_state(), state, best},
                     o.seal ? &*o.seal : nullptr);
  };
  RunResult result;
  const auto started = std::chrono::steady_clock::now();
  const double elapsed_before = state.elapsed_s;
  std::vector<Sequence> batch;
  for (int64_t s = state.step + 1; s <= o.steps; ++s) {
    batch.clear();
    for (int i = 0; i < o.batch; ++i) {
      const Example& ex = examples[order.at((s - 1) * o.batch + i)];
      batch.push_back(ex.sequence());
      state.tokens += static_cast<int64_t>(ex.tokens.size());
    }
    StepReport report;
    report.step = s;
    report.total = o.steps;
    report.lr = learning_rate(o.schedule, o.lr, s, o.steps, o.warmup);
    report.loss = trainer.step(batch, static_cast<float>(report.lr)).loss;
    state.step = s;
    state.elapsed_s =
        elapsed_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    report.tokens = state.tokens;
    report.elapsed_s = state.elapsed_s;
    bool stop_early = false;
    if (evaluating && (s % o.eval_every == 0 || s == o.steps)) {
      const double loss = trainer.evaluate(eval_examples);
      report.eval_loss = loss;
      if (!state.best_eval_loss || loss < *state.best_eval_loss) {
        state.best_eval_loss = loss;
        state.best_step = s;
        state.evals_since_best = 0;
        best = trainer.adapter();
      } else {
        ++state.evals_since_best;
        stop_early = o.patience > 0 && state.evals_since_best >= o.patience;
      }
    }
    if (on_step) on_step(report);
    const bool interrupted = stop != nullptr && stop->load();
    if (interrupted || (o.checkpoint_every > 0 && s % o.checkpoint_every == 0 && s < o.steps))
      checkpoint();
    if (stop_early || interrupted) {
      result.end = stop_early ? RunEnd::early_stopped : RunEnd::interrupted;
      break;
    }
  }
  result.steps = state.step;
  result.adapter = best ? *best : trainer.adapter();
  result.best_eval_loss = state.best_eval_loss;
  result.best_step = state.best_step;
  return result;
}

}  // namespace hearth::train
