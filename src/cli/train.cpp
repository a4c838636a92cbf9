// `hearth train BASE --data FILE --out ADAPTER.gguf [options]`: LoRA fine-tuning of a model on
// this machine, in the foreground (train/train.h). BASE is an installed model's name or a GGUF
// path; the base stays frozen in whatever type it is stored. --data is OpenAI's chat fine-tuning
// JSONL as `hearth data export` writes it (rendered with the model's chat format, loss on the
// answers: train/chat_examples.h) or pre-tokenized JSONL ({"tokens": [...], "mask": [...]},
// train/examples.h), checked whole before training starts.
// Step s takes the next --batch examples of the data in order (--no-shuffle) or of each
// epoch's seeded shuffle; the adapter is written to --out at the end (llama.cpp's format).
// With HEARTH_KERNELS=reference the arithmetic is exact F32 (the conformance mode).
// --log FILE gets one JSON line per step: {"step","loss","lr","tokens","elapsed_s"}, tokens
// counted since the start.
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/thread_pool.h"
#include "train/chat_examples.h"
#include "train/train.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string base, data, out, init_adapter, log;
  std::string targets = "q,k,v,o,gate,up,down";
  std::string schedule = "cosine";
  int rank = 16;
  float alpha = 32, weight_decay = 0, lora_scale = 1, clip = 0;
  double lr = 2e-4;
  double warmup = 0.03;
  int epochs = 2;
  int64_t steps = 0;
  int batch = 4;
  int max_seq = 1024;
  uint64_t seed = 42;
  bool no_shuffle = false;
  size_t threads = 0;
};

std::vector<std::string> split_targets(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Examples cut to max_seq tokens; those left without a target are dropped (with a note).
std::vector<train::Example> fit_to_length(std::vector<train::Example> examples, int max_seq) {
  std::vector<train::Example> kept;
  for (train::Example& ex : examples) {
    if (static_cast<int>(ex.tokens.size()) > max_seq) {
      ex.tokens.resize(static_cast<size_t>(max_seq));
      ex.mask.resize(static_cast<size_t>(max_seq));
    }
    if (std::any_of(ex.mask.begin() + 1, ex.mask.end(), [](uint8_t m) { return m != 0; }))
      kept.push_back(std::move(ex));
  }
  if (kept.size() < examples.size())
    std::fprintf(stderr, "note: %zu examples have no target within --max-seq %d and are skipped\n",
                 examples.size() - kept.size(), max_seq);
  if (kept.empty()) throw Error(ErrorKind::invalid_input, "no example has a target to train on");
  return kept;
}

// The order in which examples are used: epoch after epoch, each in file order or its own
// seeded shuffle.
class DataOrder {
 public:
  DataOrder(size_t n, bool shuffle, uint64_t seed) : n_(n), shuffle_(shuffle), seed_(seed) {}
  size_t at(int64_t position) {
    const auto epoch = static_cast<uint64_t>(position) / n_;
    if (epoch != epoch_ || order_.empty()) {
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

 private:
  size_t n_;
  bool shuffle_;
  uint64_t seed_;
  uint64_t epoch_ = 0;
  std::vector<size_t> order_;
};

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

void run_train(const TrainArgs& a) {
  if (a.batch < 1) throw Error(ErrorKind::invalid_input, "--batch must be at least 1");
  if (a.max_seq < 2) throw Error(ErrorKind::invalid_input, "--max-seq must be at least 2");
  const train::Schedule schedule = train::parse_schedule(a.schedule);
  auto model = model::Model::load(model_file_to_load(a.base));
  const std::vector<train::Example> examples =
      fit_to_length(train::read_training_file(
                        a.data, chat::ModelChat::of(model->file(), model->tokenizer()),
                        model->tokenizer()),
                    a.max_seq);

  train::LoraAdapter adapter;
  if (!a.init_adapter.empty()) {
    adapter = train::read_adapter(a.init_adapter);
    if (!adapter.arch.empty() && adapter.arch != model->hparams().arch)
      throw Error(ErrorKind::invalid_input, a.init_adapter + " is an adapter for " +
                                                adapter.arch + ", but the base is " +
                                                model->hparams().arch);
  } else {
    adapter = train::new_adapter(*model, split_targets(a.targets), a.rank, a.alpha, a.seed);
  }

  const auto n = static_cast<int64_t>(examples.size());
  const int64_t total =
      a.steps > 0 ? a.steps : std::max<int64_t>(1, a.epochs * ((n + a.batch - 1) / a.batch));
  const int64_t warmup = a.warmup < 1 ? std::llround(a.warmup * static_cast<double>(total))
                                      : static_cast<int64_t>(a.warmup);

  ThreadPool pool(a.threads);
  const train::Network network(model, kernels::default_matmul_options(&pool));
  train::TrainSettings settings;
  settings.lora_scale = a.lora_scale;
  settings.clip = a.clip;
  settings.adamw.lr = static_cast<float>(a.lr);
  settings.adamw.weight_decay = a.weight_decay;
  train::Trainer trainer(network, std::move(adapter), settings);

  std::ofstream log;
  if (!a.log.empty()) {
    log.open(a.log, std::ios::trunc);
    if (!log) throw Error(ErrorKind::io, "cannot write the log " + a.log);
  }
  std::fprintf(stderr, "training %zu adapted weights on %lld examples: %lld steps of %d\n",
               trainer.adapter().pairs.size(), static_cast<long long>(n),
               static_cast<long long>(total), a.batch);
  const bool tty = isatty(STDERR_FILENO) != 0;
  DataOrder order(examples.size(), !a.no_shuffle, a.seed);
  const auto start = std::chrono::steady_clock::now();
  int64_t tokens = 0;
  std::vector<train::Sequence> batch;
  for (int64_t s = 1; s <= total; ++s) {
    batch.clear();
    for (int i = 0; i < a.batch; ++i) {
      const train::Example& ex = examples[order.at((s - 1) * a.batch + i)];
      batch.push_back(ex.sequence());
      tokens += static_cast<int64_t>(ex.tokens.size());
    }
    const double lr = train::learning_rate(schedule, a.lr, s, total, warmup);
    const train::SequenceLoss loss = trainer.step(batch, static_cast<float>(lr));
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (log) {
      boost::json::object line{{"step", s},
                               {"loss", loss.loss},
                               {"lr", lr},
                               {"tokens", tokens},
                               {"elapsed_s", elapsed}};
      log << format_json(line) << '\n' << std::flush;
    }
    const double eta = elapsed / static_cast<double>(s) * static_cast<double>(total - s);
    std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f  lr %.2e  %.0f tok/s  eta %s%s",
                 tty ? "\r" : "", static_cast<long long>(s), static_cast<long long>(total),
                 loss.loss, lr, static_cast<double>(tokens) / elapsed,
                 clock_text(eta).c_str(), tty ? "   " : "\n");
  }
  if (tty) std::fprintf(stderr, "\n");
  train::write_adapter(trainer.adapter(), a.out);
  std::printf("wrote %s\n", a.out.c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "fine-tune a LoRA adapter on a frozen base model");
  cmd->add_option("base", args->base, "the base model: an installed name or a GGUF file")
      ->required();
  cmd->add_option("--data", args->data, "training data: pre-tokenized JSONL {tokens, mask}")
      ->required();
  cmd->add_option("-o,--out", args->out, "the adapter to write (GGUF, llama.cpp's layout)")
      ->required();
  cmd->add_option("--init-adapter", args->init_adapter,
                  "start from this adapter instead of A random, B zero");
  cmd->add_option("--rank", args->rank, "LoRA rank")->capture_default_str();
  cmd->add_option("--alpha", args->alpha, "LoRA alpha (scale alpha/rank)")->capture_default_str();
  cmd->add_option("--targets", args->targets, "weights to adapt, comma-separated")
      ->capture_default_str();
  cmd->add_option("--lr", args->lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--schedule", args->schedule, "learning-rate schedule: constant|cosine|linear")
      ->capture_default_str();
  cmd->add_option("--warmup", args->warmup,
                  "warm-up: a fraction of the steps (below 1) or a number of steps")
      ->capture_default_str();
  cmd->add_option("--epochs", args->epochs, "passes over the data (--steps wins)")
      ->capture_default_str();
  cmd->add_option("--steps", args->steps, "optimizer steps (0: from --epochs)");
  cmd->add_option("--batch", args->batch, "sequences per step")->capture_default_str();
  cmd->add_option("--max-seq", args->max_seq, "longest sequence, in tokens (longer are cut)")
      ->capture_default_str();
  cmd->add_option("--weight-decay", args->weight_decay, "AdamW's decoupled weight decay")
      ->capture_default_str();
  cmd->add_option("--clip", args->clip, "largest gradient norm (0: no clipping)")
      ->capture_default_str();
  cmd->add_option("--lora-scale", args->lora_scale, "scale of the adapter while training")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the adapter's start and the shuffle")
      ->capture_default_str();
  cmd->add_flag("--no-shuffle", args->no_shuffle, "use the examples in file order");
  cmd->add_option("-t,--threads", args->threads, "threads (default: one per physical core)");
  cmd->add_option("--log", args->log, "JSON lines, one per step");
  cmd->callback([args] { run_train(*args); });
}

}  // namespace hearth::cli
