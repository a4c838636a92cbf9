// `hearth bench MODEL [-p 128] [-n 64] [-d 0,4096] [-t THREADS] [-r 3] [--kv-cache f16] [--json]`
//
// Measures, like llama-bench's pp/tg tests:
//   pp  one batch of p random tokens after d cached ones (prompt processing), tokens/s;
//   tg  n single-token steps after d cached tokens (generation), tokens/s;
// each as mean ± sd over r repetitions after one untimed warm-up, all on one thread pool. The d
// tokens of a depth (random, fed in batches of 512, untimed) are written once; each run then
// drops what the previous one added, so every run starts from the same d cached tokens. Beside
// each rate, tokens per CPU second of the process × threads (steadier on a busy machine).
// Beside them, in the same run: the machine's read bandwidth on the same threads (a sum over
// ≥ 1 GiB, best of a few passes; core/memory_bandwidth.h), generation's effective bandwidth
// (weight bytes one token reads × tg tokens/s) and its ratio to the measured bandwidth, the file's
// size and weight type, the KV cache size and the peak RSS (getrusage; read before the bandwidth
// buffer is allocated, so it is the model's), pp over tg (the run's own baseline for pp) and the
// CPU's model and family (hardware/cpu_name.h), so tables can say which machine gave them.
#include "cli/bench_model.h"
#include "cli/model_session.h"

#include <sys/resource.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/memory_bandwidth.h"
#include "core/thread_pool.h"
#include "engine/generate/runner.h"
#include "hardware/cpu_name.h"
#include "engine/model/kv_cache.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  double mean = 0, sd = 0;
  std::vector<double> samples;
};

Stats stats_of(std::vector<double> samples) {
  Stats s;
  s.samples = std::move(samples);
  if (s.samples.empty()) return s;
  for (double v : s.samples) s.mean += v;
  s.mean /= static_cast<double>(s.samples.size());
  if (s.samples.size() > 1) {
    double var = 0;
    for (double v : s.samples) var += (v - s.mean) * (v - s.mean);
    s.sd = std::sqrt(var / static_cast<double>(s.samples.size() - 1));
  }
  return s;
}

// Bytes of the weight matrices one token's forward pass reads (every matrix once; for a mixture
// of experts, the n_expert_used experts' share; the embedding row is negligible).
double weight_bytes_per_token(const model::Model& m) {
  auto bytes = [](const kernels::WeightMatrix& w) {
    if (w.data == nullptr) return 0.0;
    return static_cast<double>(kernels::row_bytes(w.type, w.n_in)) * static_cast<double>(w.n_out);
  };
  const model::Hparams& hp = m.hparams();
  double total = bytes(m.weights().output);
  for (const model::LayerWeights& l : m.weights().layers) {
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wqkv) + bytes(l.wo);
    total += bytes(l.ffn_gate) + bytes(l.ffn_up) + bytes(l.ffn_down) + bytes(l.ffn_router);
    double experts = 0;
    for (size_t e = 0; e < l.expert_down.size(); ++e)
      experts += bytes(l.expert_gate[e]) + bytes(l.expert_up[e]) + bytes(l.expert_down[e]);
    if (hp.n_expert > 0) total += experts * hp.n_expert_used / hp.n_expert;
  }
  return total;
}

// The weight type holding most of the matrices' bytes, e.g. "q4_0".
std::string main_weight_type(const model::Model& m) {
  std::map<std::string, double> by_type;
  for (const auto& t : m.file().tensors())
    if (t.ne.size() >= 2)
      by_type[std::string(gguf::tensor_type_name(t.type))] += static_cast<double>(t.n_bytes);
  std::string best = "?";
  double most = -1;
  for (const auto& [name, b] : by_type)
    if (b > most) best = name, most = b;
  return best;
}

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024.0;  // KiB on Linux
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec * 1e-6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return in ? a + " " + b + " " + c : "";
}

}  // namespace

void run_model_bench(const ModelBenchOptions& o) {
  if (o.n_prompt < 0 || o.n_gen < 0 || (o.n_prompt == 0 && o.n_gen == 0))
    throw Error(ErrorKind::invalid_input, "bench: -p and -n must not be negative, nor both 0");
  if (o.depths.empty())
    throw Error(ErrorKind::invalid_input, "bench: -d needs at least one depth");
  for (int d : o.depths)
    if (d < 0) throw Error(ErrorKind::invalid_input, "bench: -d must not be negative");
  const int max_depth = *std::max_element(o.depths.begin(), o.depths.end());
  // One slot deep enough for the deepest run; a prompt goes in one batch (as llama-bench's).
  ModelOptions model_options;
  model_options.model = o.model;
  model_options.n_ctx = max_depth + std::max({o.n_prompt, o.n_gen, 1});
  model_options.threads = o.threads;
  model_options.gpu_layers = o.gpu_layers;
  model_options.gpu_device = o.gpu_device;
  generate::RunnerOptions runner_options;
  runner_options.kv_type = o.kv_type;
  runner_options.max_batch = std::max(o.n_prompt, 512);
  const auto runner = load_model(model_options, runner_options);
  const model::Model* model = &runner->model();
  const model::Hparams& hp = model->hparams();
  ThreadPool& pool = runner->pool();
  const double kv_bytes = static_cast<double>(runner->kv_cache_bytes());

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> any_token(0, model->n_vocab() - 1);
  // Appends n random tokens to the slot in batches of `batch`, logits for the last only.
  auto feed = [&](int n, int batch) {
    std::vector<int32_t> tokens;
    for (int start = 0; start < n; start += batch) {
      tokens.clear();
      for (int i = start; i < std::min(n, start + batch); ++i) tokens.push_back(any_token(rng));
      runner->feed(0, tokens, false);
    }
  };
  int depth = 0;
  // Back to `depth` cached tokens: the last run's tokens dropped (written again when a model's
  // sliding-window layers no longer hold the window).
  auto rewind = [&] {
    if (runner->truncate(0, depth) != depth) {
      runner->clear(0);
      feed(depth, 512);
    }
  };
  // A run's wall time, and the CPU time of the whole process over it (every thread).
  struct Timing {
    double wall = 0, cpu = 0;
  };
  auto timed = [&](auto&& fn) {
    const double cpu0 = process_cpu_seconds();
    const auto start = Clock::now();
    fn();
    return Timing{std::chrono::duration<double>(Clock::now() - start).count(),
                  process_cpu_seconds() - cpu0};
  };
  auto run_pp = [&] {
    rewind();
    return timed([&] { feed(o.n_prompt, std::max(1, o.n_prompt)); });  // the prompt in one batch
  };
  auto run_tg = [&](int n) {
    rewind();
    return timed([&] {
      for (int i = 0; i < n; ++i) feed(1, 1);
    });
  };
  // Tokens per CPU second × threads: what the run would reach with its threads on cores of
  // their own, steadier than wall time on a busy machine (time spent waiting in the pool's spin
  // counts as CPU time).
  const auto threads = static_cast<double>(pool.size());
  auto cpu_rate = [&](int n, const Timing& t) { return t.cpu > 0 ? n / (t.cpu / threads) : 0.0; };

  struct DepthResult {
    int depth = 0;
    Stats pp, tg, pp_cpu, tg_cpu;
  };
  std::vector<DepthResult> results;
  for (int d : o.depths) {
    // The cached tokens (random ones) cut or topped up to d.
    feed(d - runner->truncate(0, d), 512);
    depth = d;
    // Warm-up: pages of the mapping, the pool's threads, the caches.
    if (o.n_prompt > 0) run_pp();
    if (o.n_gen > 0) run_tg(std::min(o.n_gen, 4));
    std::vector<double> pp, tg, pp_cpu, tg_cpu;
    for (int r = 0; r < o.repetitions; ++r) {
      if (o.n_prompt > 0) {
        const Timing t = run_pp();
        pp.push_back(o.n_prompt / t.wall);
        pp_cpu.push_back(cpu_rate(o.n_prompt, t));
      }
      if (o.n_gen > 0) {
        const Timing t = run_tg(o.n_gen);
        tg.push_back(o.n_gen / t.wall);
        tg_cpu.push_back(cpu_rate(o.n_gen, t));
      }
    }
    results.push_back({d, stats_of(pp), stats_of(tg), stats_of(pp_cpu), stats_of(tg_cpu)});
  }
  const Stats& pp_s = results.front().pp;
  const Stats& tg_s = results.front().tg;
  const double rss = peak_rss_bytes();
  const BandwidthResult bw =
      measure_read_bandwidth(&pool, static_cast<size_t>(o.bandwidth_mib * 1024 * 1024));

  const double file_size = static_cast<double>(std::filesystem::file_size(o.model));
  const double bytes_token = weight_bytes_per_token(*model);
  const double tg_gbps = bytes_token * tg_s.mean / 1e9;
  const double ratio = bw.best_gbps > 0 ? tg_gbps / bw.best_gbps : 0;
  const std::string type = main_weight_type(*model);
  const std::string kernels(kernels::kernel_set_name(runner->kernels()));
  const std::string load = load_average();
  const std::string cpu = hardware::this_cpu_description();
  // Prompt tokens/s over generated tokens/s: the same run's own baseline for pp (how much one
  // batch gains over token-by-token decoding on this machine).
  const double pp_over_tg = tg_s.mean > 0 ? pp_s.mean / tg_s.mean : 0;

  if (o.json) {
    namespace json = boost::json;
    auto stat_json = [](const Stats& s) {
      json::array samples(s.samples.begin(), s.samples.end());
      return json::object{{"tokens_per_s", s.mean}, {"sd", s.sd}, {"samples", std::move(samples)}};
    };
    const json::object out = {
        {"benchmark", "model"},
        {"cpu", cpu},
        {"model", o.model},
        {"arch", hp.arch},
        {"type", type},
        {"file_size", file_size},
        {"n_layer", hp.n_layer},
        {"threads", pool.size()},
        {"kernels", kernels},
        {"n_prompt", o.n_prompt},
        {"n_gen", o.n_gen},
        {"repetitions", o.repetitions},
        {"pp", stat_json(pp_s)},
        {"tg", stat_json(tg_s)},
        {"depth", results.front().depth},
        {"depths", [&] {
           json::array a;
           for (const DepthResult& r : results)
             a.push_back(json::object{
                 {"depth", r.depth}, {"pp", stat_json(r.pp)}, {"tg", stat_json(r.tg)},
                 {"pp_cpu", stat_json(r.pp_cpu)}, {"tg_cpu", stat_json(r.tg_cpu)}});
           return a;
         }()},
        {"kv_cache_type", model::kv_type_name(o.kv_type)},
        {"gpu_layers", runner->n_gpu_layers()},
        {"read_bandwidth_gbps", bw.best_gbps},
        {"read_bandwidth", json::object{{"best_gbps", bw.best_gbps},
                                        {"mean_gbps", bw.mean_gbps},
                                        {"bytes", bw.bytes},
                                        {"passes", bw.passes},
                                        {"threads", bw.threads}}},
        {"weight_bytes_per_token", bytes_token},
        {"tg_effective_gbps", tg_gbps},
        {"tg_bandwidth_ratio", ratio},
        {"pp_over_tg", pp_over_tg},
        {"kv_cache_bytes", kv_bytes},
        {"peak_rss_bytes", rss},
        {"rss_over_file_and_kv", rss / (file_size + kv_bytes)},
        {"load_average", load},
    };
    std::printf("%s\n", format_json(out, 2).c_str());
    return;
  }
  std::printf("model      %s\n", o.model.c_str());
  std::printf("cpu        %s\n", cpu.c_str());
  std::printf("           %s, %s, %.3f GB file, %zu threads, %s kernels\n", hp.arch.c_str(),
              type.c_str(), file_size / 1e9, pool.size(), kernels.c_str());
  std::printf("\n| test            | tokens/s          | per CPU-s × threads |\n"
              "|-----------------|-------------------|---------------------|\n");
  for (const DepthResult& r : results) {
    auto label = [&](const char* kind, int n) {
      std::string s = kind + std::to_string(n);
      if (r.depth > 0) s += " @ d" + std::to_string(r.depth);
      return s;
    };
    if (o.n_prompt > 0)
      std::printf("| %-15s | %8.2f ± %-6.2f | %8.2f ± %-8.2f |\n", label("pp", o.n_prompt).c_str(),
                  r.pp.mean, r.pp.sd, r.pp_cpu.mean, r.pp_cpu.sd);
    if (o.n_gen > 0)
      std::printf("| %-15s | %8.2f ± %-6.2f | %8.2f ± %-8.2f |\n", label("tg", o.n_gen).c_str(),
                  r.tg.mean, r.tg.sd, r.tg_cpu.mean, r.tg_cpu.sd);
  }
  std::printf("\nread bandwidth       %.2f GB/s (best of %d passes over %.2f GiB, %zu threads; mean "
              "%.2f)\n",
              bw.best_gbps, bw.passes, static_cast<double>(bw.bytes) / (1 << 30), bw.threads,
              bw.mean_gbps);
  if (o.n_gen > 0)
    std::printf("tg effective         %.2f GB/s (%.3f GB of weights per token) = %.2f × read "
                "bandwidth\n",
                tg_gbps, bytes_token / 1e9, ratio);
  if (o.n_prompt > 0 && o.n_gen > 0)
    std::printf("pp / tg              %.2f (prompt tokens/s over generated tokens/s)\n", pp_over_tg);
  if (runner->n_gpu_layers() > 0)
    std::printf("GPU layers           %d of %d (Vulkan)\n", runner->n_gpu_layers(), hp.n_layer);
  std::printf("KV cache             %.3f GB (%s, %d cells; f32 would be %.3f GB)\n", kv_bytes / 1e9,
              model::kv_type_name(o.kv_type), runner->n_ctx(),
              kv_bytes / static_cast<double>(model::kv_row_bytes(o.kv_type, 32)) * 128 / 1e9);
  std::printf("peak RSS             %.3f GB (file + KV cache %.3f GB: ×%.2f)\n", rss / 1e9,
              (file_size + kv_bytes) / 1e9, rss / (file_size + kv_bytes));
  std::printf("load average         %s\n", load.c_str());
}

}  // namespace hearth::cli
