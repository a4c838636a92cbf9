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

#include <atomic>
#include <csignal>

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
#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/thread_pool.h"
#include "train/chat_examples.h"
#include "hardware/hardware.h"
#include "train/plan.h"
#include "train/run.h"
#include "train/train.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string base, data, out, init_adapter, log, eval_data, checkpoint_dir, resume;
  int64_t eval_every = 0;  // 0: every 10 % of the steps
  int patience = 3;
  int64_t checkpoint_every = 0;
  bool dry_run = false;
  bool recompute = false;
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
std::vector<train::Example> fit_examples(std::vector<train::Example> examples, int max_seq) {
  size_t dropped = 0;
  auto kept = train::fit_to_length(std::move(examples), max_seq, &dropped);
  if (dropped > 0)
    std::fprintf(stderr, "note: %zu examples have no target within --max-seq %d and are skipped\n",
                 dropped, max_seq);
  return kept;
}

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(std::max(0.0, seconds));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  return buf;
}

// Bytes a run may use: HEARTH_TRAIN_MEMORY (MiB) when set, else what the kernel can hand out
// without swapping (0 when unknown).
uint64_t available_memory() {
  if (!config::get("HEARTH_TRAIN_MEMORY").empty())
    return static_cast<uint64_t>(config::get_int("HEARTH_TRAIN_MEMORY", 1, 1LL << 40)) << 20;
  return hardware::read_meminfo().available;
}

// The time of an epoch on this machine, from one measured step on a sample of the data (the
// second of two, so that the weights are in memory): tokens per second times the epoch's tokens.
void print_time_estimate(train::Trainer& trainer, const std::vector<train::Example>& examples,
                         const train::RunOptions& run, int max_seq) {
  // The last 128 tokens of the first example, with their own targets (answers come last), so
  // that the share of positions projected to the vocabulary is the data's.
  const train::Example& first = examples.front();
  const size_t n = std::min<size_t>(first.tokens.size(), 128);
  train::Example sample;
  sample.tokens.assign(first.tokens.end() - static_cast<std::ptrdiff_t>(n), first.tokens.end());
  sample.mask.assign(first.mask.end() - static_cast<std::ptrdiff_t>(n), first.mask.end());
  if (std::none_of(sample.mask.begin() + 1, sample.mask.end(), [](uint8_t m) { return m != 0; }))
    sample.mask.assign(n, 1);
  const train::Sequence seq = sample.sequence();
  trainer.step(std::span<const train::Sequence>(&seq, 1), 0.0f);
  const auto start = std::chrono::steady_clock::now();
  trainer.step(std::span<const train::Sequence>(&seq, 1), 0.0f);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double tok_s = static_cast<double>(n) / std::max(s, 1e-9);
  double epoch_tokens = 0;
  for (const auto& ex : examples)
    epoch_tokens += static_cast<double>(std::min<size_t>(ex.tokens.size(), static_cast<size_t>(max_seq)));
  const double epoch_steps = std::ceil(static_cast<double>(examples.size()) / run.batch);
  std::printf("time: about %s per epoch (%.0f tokens in %.0f steps at %.1f tokens/s, measured on "
              "a %zu-token sample); %lld steps in all\n",
              clock_text(epoch_tokens / tok_s).c_str(), epoch_tokens, epoch_steps, tok_s, n,
              static_cast<long long>(run.steps));
}

// Ctrl-C / SIGTERM: finish the step, write a checkpoint, stop. A second one stops at once.
std::atomic<bool> g_stop{false};

void on_stop_signal(int) {
  if (g_stop.exchange(true)) _exit(130);
}

// The options a resumed run keeps (everything that shapes the trajectory), as JSON.
boost::json::object settings_json(const TrainArgs& a) {
  return {{"base", a.base},         {"data", a.data},       {"out", a.out},
          {"eval_data", a.eval_data}, {"init_adapter", a.init_adapter},
          {"targets", a.targets},   {"schedule", a.schedule}, {"rank", a.rank},
          {"alpha", a.alpha},       {"weight_decay", a.weight_decay},
          {"lora_scale", a.lora_scale}, {"clip", a.clip}, {"lr", a.lr},
          {"warmup", a.warmup},     {"epochs", a.epochs},  {"steps", a.steps},
          {"batch", a.batch},       {"max_seq", a.max_seq}, {"seed", a.seed},
          {"no_shuffle", a.no_shuffle}, {"eval_every", a.eval_every},
          {"patience", a.patience}, {"checkpoint_every", a.checkpoint_every}};
}

// A resumed run's options: the checkpoint's, with --threads, --log and --checkpoint-dir of this
// command.
TrainArgs resumed_args(const TrainArgs& given, const boost::json::object& s) {
  TrainArgs a = given;
  try {
    auto str = [&](const char* k) { return std::string(s.at(k).as_string()); };
    auto num = [&](const char* k) { return s.at(k).to_number<double>(); };
    a.base = str("base");
    a.data = str("data");
    a.out = str("out");
    a.eval_data = str("eval_data");
    a.init_adapter = str("init_adapter");
    a.targets = str("targets");
    a.schedule = str("schedule");
    a.rank = static_cast<int>(num("rank"));
    a.alpha = static_cast<float>(num("alpha"));
    a.weight_decay = static_cast<float>(num("weight_decay"));
    a.lora_scale = static_cast<float>(num("lora_scale"));
    a.clip = static_cast<float>(num("clip"));
    a.lr = num("lr");
    a.warmup = num("warmup");
    a.epochs = static_cast<int>(num("epochs"));
    a.steps = static_cast<int64_t>(num("steps"));
    a.batch = static_cast<int>(num("batch"));
    a.max_seq = static_cast<int>(num("max_seq"));
    a.seed = static_cast<uint64_t>(s.at("seed").to_number<uint64_t>());
    a.no_shuffle = s.at("no_shuffle").as_bool();
    a.eval_every = static_cast<int64_t>(num("eval_every"));
    a.patience = static_cast<int>(num("patience"));
    a.checkpoint_every = static_cast<int64_t>(num("checkpoint_every"));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::corrupt_file,
                "the checkpoint's settings cannot be read (" + std::string(e.what()) + ")");
  }
  return a;
}

void run_train(TrainArgs a) {
  std::optional<train::Checkpoint> resume;
  if (!a.resume.empty()) {
    resume = train::read_latest_checkpoint(a.resume);
    if (!resume) throw Error(ErrorKind::not_found, a.resume + " holds no complete checkpoint");
    a = resumed_args(a, resume->run.settings);
    a.checkpoint_dir = a.resume;
  }
  if (a.data.empty() || a.out.empty())
    throw Error(ErrorKind::invalid_input, "--data and --out are required (or --resume DIR)");
  if (a.batch < 1) throw Error(ErrorKind::invalid_input, "--batch must be at least 1");
  if (a.max_seq < 2) throw Error(ErrorKind::invalid_input, "--max-seq must be at least 2");
  const train::Schedule schedule = train::parse_schedule(a.schedule);
  auto model = model::Model::load(model_file_to_load(a.base));
  const chat::ModelChat chat = chat::ModelChat::of(model->file(), model->tokenizer());
  auto read = [&](const std::string& path) {
    return fit_examples(train::read_training_file(path, chat, model->tokenizer()), a.max_seq);
  };
  const std::vector<train::Example> examples = read(a.data);
  const std::vector<train::Example> eval_examples =
      a.eval_data.empty() ? std::vector<train::Example>{} : read(a.eval_data);

  train::LoraAdapter adapter;
  if (!a.init_adapter.empty()) {
    adapter = train::read_adapter(a.init_adapter);
    if (!adapter.arch.empty() && adapter.arch != model->hparams().arch)
      throw Error(ErrorKind::invalid_input, a.init_adapter + " is an adapter for " +
                                                adapter.arch + ", but the base is " +
                                                model->hparams().arch);
  } else {
    const std::vector<std::string> targets = split_targets(a.targets);
    if (model->hparams().n_expert > 0 &&
        std::any_of(targets.begin(), targets.end(),
                    [](const std::string& t) { return t == "gate" || t == "up" || t == "down"; }))
      std::fprintf(stderr, "note: %s is a mixture of experts: its expert FFNs stay frozen, so the "
                           "gate, up and down targets are skipped\n", a.base.c_str());
    adapter = train::new_adapter(*model, targets, a.rank, a.alpha, a.seed);
  }

  // The memory plan: printed by --dry-run, and a run that will not fit is refused before it
  // starts.
  ThreadPool pool(a.threads);
  const auto threads = static_cast<int>(pool.size());
  const uint64_t available = available_memory();
  // Sequences are as long as the data's (at most --max-seq): the plan is for the longest.
  size_t longest = 0;
  for (const auto* set : {&examples, &eval_examples})
    for (const auto& ex : *set) longest = std::max(longest, ex.tokens.size());
  const train::MemoryPlan plan = train::choose_plan(*model, adapter, static_cast<int64_t>(longest),
                                                    a.batch, threads, available, a.recompute);
  if (a.dry_run) {
    std::printf("memory plan (sequences up to %zu tokens, rank %lld, %zu adapted weights):\n%s",
                longest, adapter.weights.empty() ? 0LL : static_cast<long long>(adapter.weights[0].rank),
                adapter.weights.size(), train::plan_text(plan, available).c_str());
  }
  if (available > 0 && plan.peak() > available)
    throw Error(ErrorKind::unavailable,
                "the run needs about " + std::to_string(plan.peak() >> 20) + " MiB at its peak but " +
                    std::to_string(available >> 20) +
                    " MiB is available; lower --max-seq, --rank or --targets, or free memory");

  const auto n = static_cast<int64_t>(examples.size());
  train::RunOptions run;
  run.steps = a.steps > 0 ? a.steps : std::max<int64_t>(1, a.epochs * ((n + a.batch - 1) / a.batch));
  run.batch = a.batch;
  run.schedule = schedule;
  run.lr = a.lr;
  run.warmup = a.warmup < 1 ? std::llround(a.warmup * static_cast<double>(run.steps))
                            : static_cast<int64_t>(a.warmup);
  run.shuffle = !a.no_shuffle;
  run.seed = a.seed;
  run.eval_every = a.eval_every > 0 ? a.eval_every : std::max<int64_t>(1, run.steps / 10);
  run.patience = a.patience;
  run.checkpoint_dir = a.checkpoint_dir.empty() ? fs::path(a.out + ".checkpoints") : fs::path(a.checkpoint_dir);
  run.checkpoint_every = a.checkpoint_every;
  run.settings = settings_json(a);

  train::Network network(model, kernels::default_matmul_options(&pool));
  network.set_recompute(plan.recompute);
  if (plan.recompute && !a.recompute && !a.dry_run)
    std::fprintf(stderr, "note: the activations of every layer would not fit in memory; they are "
                         "recomputed block by block (slower, same results)\n");
  train::TrainSettings settings;
  settings.lora_scale = a.lora_scale;
  settings.clip = a.clip;
  settings.adamw.lr = static_cast<float>(a.lr);
  settings.adamw.weight_decay = a.weight_decay;
  train::Trainer trainer(network, std::move(adapter), settings);

  if (a.dry_run) {
    print_time_estimate(trainer, examples, run, a.max_seq);
    return;
  }

  std::ofstream log;
  if (!a.log.empty()) {
    log.open(a.log, resume ? std::ios::app : std::ios::trunc);
    if (!log) throw Error(ErrorKind::io, "cannot write the log " + a.log);
  }
  std::fprintf(stderr, "training %zu adapted weights on %lld examples: %lld steps of %d%s\n",
               trainer.adapter().weights.size(), static_cast<long long>(n),
               static_cast<long long>(run.steps), a.batch,
               resume ? (", resuming after step " + std::to_string(resume->run.step)).c_str() : "");
  const bool tty = isatty(STDERR_FILENO) != 0;
  const int64_t first_step = resume ? resume->run.step : 0;
  const int64_t tokens_before = resume ? resume->run.tokens : 0;
  const double elapsed_before = resume ? resume->run.elapsed_s : 0;
  auto on_step = [&](const train::StepReport& r) {
    if (log) {
      boost::json::object line{{"step", r.step},     {"loss", r.loss},
                               {"lr", r.lr},         {"tokens", r.tokens},
                               {"elapsed_s", r.elapsed_s}};
      if (r.eval_loss) line["eval_loss"] = *r.eval_loss;
      log << format_json(line) << '\n' << std::flush;
    }
    const double this_run = std::max(1e-9, r.elapsed_s - elapsed_before);
    const double per_step = this_run / static_cast<double>(r.step - first_step);
    const double tok_s = static_cast<double>(r.tokens - tokens_before) / this_run;
    std::string eval = r.eval_loss ? "  eval " + std::to_string(*r.eval_loss).substr(0, 6) : "";
    std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f%s  lr %.2e  %.0f tok/s  left %s%s",
                 tty ? "\r" : "", static_cast<long long>(r.step), static_cast<long long>(r.total),
                 r.loss, eval.c_str(), r.lr, tok_s,
                 clock_text(per_step * static_cast<double>(r.total - r.step)).c_str(),
                 tty && !r.eval_loss ? "   " : "\n");
  };
  g_stop = false;
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  const train::RunResult result =
      train::run_training(trainer, examples, eval_examples, run, resume, on_step, &g_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (tty) std::fprintf(stderr, "\n");
  if (result.end == train::RunEnd::interrupted) {
    std::fprintf(stderr, "stopped after step %lld; continue with: hearth train --resume %s\n",
                 static_cast<long long>(result.steps), run.checkpoint_dir.c_str());
    throw ExitStatus{130};
  }
  if (result.end == train::RunEnd::early_stopped)
    std::fprintf(stderr, "stopped early at step %lld: the validation loss has not improved for %d "
                         "evaluations\n", static_cast<long long>(result.steps), a.patience);
  if (result.best_eval_loss)
    std::fprintf(stderr, "best validation loss %.4f at step %lld (that adapter is the output)\n",
                 *result.best_eval_loss, static_cast<long long>(result.best_step));
  train::write_adapter(result.adapter, a.out);
  std::printf("wrote %s\n", a.out.c_str());
}

}  // namespace

void register_train(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "fine-tune a LoRA adapter on a frozen base model");
  cmd->add_option("base", args->base, "the base model: an installed name or a GGUF file");
  cmd->add_option("--data", args->data,
                  "training data: chat JSONL (hearth data export) or pre-tokenized {tokens, mask}");
  cmd->add_option("-o,--out", args->out, "the adapter to write (GGUF, llama.cpp's layout)");
  cmd->add_option("--eval-data", args->eval_data, "held-out data for the validation loss");
  cmd->add_option("--eval-every", args->eval_every,
                  "steps between evaluations (default: 10 % of the steps)");
  cmd->add_option("--patience", args->patience,
                  "stop after this many evaluations without improvement (0: never); the best "
                  "adapter is the output")
      ->capture_default_str();
  cmd->add_option("--checkpoint-dir", args->checkpoint_dir,
                  "where checkpoints go (default: OUT.checkpoints beside --out)");
  cmd->add_option("--checkpoint-every", args->checkpoint_every,
                  "steps between checkpoints (0: only when stopped with Ctrl-C)")
      ->capture_default_str();
  cmd->add_flag("--recompute", args->recompute,
                "recompute activations in the backward pass even when they fit (less memory, "
                "about 1/3 more work; chosen by itself when they do not fit)");
  cmd->add_flag("--dry-run", args->dry_run,
                "print the memory plan and the time an epoch will take, then stop (a run that "
                "will not fit in memory is refused)");
  cmd->add_option("--resume", args->resume,
                  "continue the run whose checkpoints are in DIR (its settings are kept)");
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
  cmd->callback([args] {
    if (args->resume.empty() && args->base.empty())
      throw Error(ErrorKind::invalid_input, "the base model is required (or --resume DIR)");
    run_train(*args);
  });
}

}  // namespace hearth::cli
