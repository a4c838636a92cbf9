// `hearth bench MODEL [-p 128] [-n 64] [-t THREADS] [-r 3] [--json]`
//
// Measures, like llama-bench's pp/tg tests:
//   pp  one batch of p random tokens into a fresh context (prompt processing), tokens/s;
//   tg  n single-token steps from an empty fresh context (generation), tokens/s;
// each as mean ± sd over r repetitions after one untimed warm-up, all on one thread pool.
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

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
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
  ModelOptions model_options;
  model_options.model = o.model;
  model_options.n_ctx = std::max({o.n_prompt, o.n_gen, 1});
  model_options.threads = o.threads;
  generate::RunnerOptions runner_options;
  runner_options.max_batch = std::max(1, o.n_prompt);  // the prompt in one batch
  const auto runner = load_model(model_options, runner_options);
  const model::Model* model = &runner->model();
  const model::Hparams& hp = model->hparams();
  ThreadPool& pool = runner->pool();
  const double kv_bytes = static_cast<double>(runner->kv_cache_bytes());

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> any_token(0, model->n_vocab() - 1);
  auto random_tokens = [&](int n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& id : t) id = any_token(rng);
    return t;
  };
  // Each run starts from an empty cache.
  auto run_pp = [&] {
    runner->clear(0);
    const auto tokens = random_tokens(o.n_prompt);
    const auto start = Clock::now();
    runner->feed(0, tokens, false);
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  auto run_tg = [&](int n) {
    runner->clear(0);
    const auto tokens = random_tokens(n);
    const auto start = Clock::now();
    for (int i = 0; i < n; ++i) runner->feed(0, std::span(&tokens[static_cast<size_t>(i)], 1), false);
    return std::chrono::duration<double>(Clock::now() - start).count();
  };

  // Warm-up: pages of the mapping, the pool's threads, the caches.
  if (o.n_prompt > 0) run_pp();
  if (o.n_gen > 0) run_tg(std::min(o.n_gen, 4));
  std::vector<double> pp, tg;
  for (int r = 0; r < o.repetitions; ++r) {
    if (o.n_prompt > 0) pp.push_back(o.n_prompt / run_pp());
    if (o.n_gen > 0) tg.push_back(o.n_gen / run_tg(o.n_gen));
  }
  const Stats pp_s = stats_of(pp), tg_s = stats_of(tg);
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
  std::printf("\n| test   | tokens/s          |\n|--------|-------------------|\n");
  if (o.n_prompt > 0) std::printf("| pp%-4d | %8.2f ± %-6.2f |\n", o.n_prompt, pp_s.mean, pp_s.sd);
  if (o.n_gen > 0) std::printf("| tg%-4d | %8.2f ± %-6.2f |\n", o.n_gen, tg_s.mean, tg_s.sd);
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
  std::printf("peak RSS             %.3f GB (file + KV cache %.3f GB: ×%.2f)\n", rss / 1e9,
              (file_size + kv_bytes) / 1e9, rss / (file_size + kv_bytes));
  std::printf("load average         %s\n", load.c_str());
}

}  // namespace hearth::cli
