// Serving several LoRA versions of one base: N sequences (--parallel, default 4) generate at
// once on one loaded model (generate::ModelRunner, batch-invariant as the server runs it), each
// with its own adapter applied per sequence inside the one batch
// (model::Context::set_sequence_adapters). Configurations, interleaved over --reps repetitions:
//   base   no adapters
//   1      one adapter shared by every sequence (one set of rows: the cost of the arithmetic)
//   2      two different adapters, alternating over the sequences
//   N      every sequence its own adapter (N different ones)
// Per configuration: aggregate generated tokens/s over the generation steps (the first step,
// which decodes every prompt, is not counted; median over the repetitions), its ratio to `base`
// of the same repetition (median), the same two per CPU-second of the process (steadier when
// other processes share the machine), the process's RSS after a short run of that configuration
// alone on a fresh runner, and the bytes of its adapters (A and B, F32). The adapters are rank
// --rank (default 16) on q, k, v, o, gate, up and down, made with the trainer's new_adapter()
// and B filled with small values, written as GGUF and loaded through Request::adapters.
//
//   adapters_bench MODEL [--parallel 4] [--gen 64] [--prompt 32] [--rank 16] [--threads 2]
//                        [--reps 3] [--dir DIR]
// Prints one JSON object per line (one per configuration and repetition), then a summary line.
// Memory is measured first (one fresh runner per configuration), then speed on one runner.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/splitmix.h"
#include "engine/generate/runner.h"
#include "train/adapter_file.h"
#include "train/lora_init.h"

namespace {

namespace fs = std::filesystem;
using namespace hearth;

struct Args {
  std::string model;
  int parallel = 4, gen = 64, prompt = 32, rank = 16, threads = 2, reps = 3;
  std::string dir;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--parallel")
      a.parallel = std::stoi(value());
    else if (k == "--gen")
      a.gen = std::stoi(value());
    else if (k == "--prompt")
      a.prompt = std::stoi(value());
    else if (k == "--rank")
      a.rank = std::stoi(value());
    else if (k == "--threads")
      a.threads = std::stoi(value());
    else if (k == "--reps")
      a.reps = std::stoi(value());
    else if (k == "--dir")
      a.dir = value();
    else if (a.model.empty())
      a.model = k;
    else
      throw std::runtime_error("unknown argument " + k);
  }
  if (a.model.empty()) throw std::runtime_error("usage: adapters_bench MODEL [options]");
  return a;
}

// The process's resident set now, from /proc/self/status (kB there).
std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// A rank-r adapter on all seven targets whose B is small random values (a trained adapter's
// shape and cost; new_adapter's B = 0 would change nothing in the output).
void make_adapter(const model::Model& model, int rank, uint64_t seed, const fs::path& path) {
  const std::vector<std::string> targets(std::begin(train::kDefaultTargets),
                                         std::end(train::kDefaultTargets));
  model::LoraAdapter adapter = train::new_adapter(model, targets, rank, 2.0f * rank, seed);
  SplitMix rng{seed * 7919 + 1};
  for (auto& w : adapter.weights)
    for (float& v : w.b) v = 0.02f * rng.symmetric();
  train::write_adapter(adapter, path);
}

struct Result {
  int tokens = 0;          // generated in the timed steps
  double seconds = 0;      // the timed steps, wall clock
  double cpu_seconds = 0;  // the timed steps, CPU time of this process (all its threads)
};

// CPU time of the process: unlike the wall clock, it does not count time the machine gave to
// other processes, so it is the steadier figure on a shared machine.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Every slot starts a request (slot i with adapters[i], maybe none); steps until all are done.
Result run(generate::ModelRunner& runner, const Args& a,
           const std::vector<std::vector<generate::LoraFile>>& adapters) {
  for (int s = 0; s < a.parallel; ++s) {
    generate::Request r;
    // A prompt of about --prompt tokens, different per slot.
    for (int w = 0; w < a.prompt; ++w)
      r.prompt += " word" + std::to_string((s * 131 + w * 17) % 997);
    r.apply_template = false;
    r.sampling.temperature = 0.8f;
    r.sampling.seed = 1000 + static_cast<uint64_t>(s);
    r.max_tokens = a.gen;
    r.adapters = adapters[static_cast<size_t>(s)];
    runner.start(s, r, runner.n_ctx());
  }
  Result res;
  std::vector<generate::Output> out;
  runner.step(out);  // every prompt, and the first tokens: not timed
  int done = 0;
  for (const auto& o : out) done += o.done ? 1 : 0;
  const auto t0 = std::chrono::steady_clock::now();
  const double c0 = cpu_now();
  while (done < a.parallel) {
    out.clear();
    runner.step(out);
    for (const auto& o : out) {
      res.tokens += o.token ? 1 : 0;
      done += o.done ? 1 : 0;
      if (o.failed) throw std::runtime_error(o.error);
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.cpu_seconds = cpu_now() - c0;
  return res;
}

// The runner the benchmark serves with: every prompt in the first step, batch-invariant.
std::unique_ptr<generate::ModelRunner> load(const Args& a) {
  generate::RunnerOptions o;
  o.n_ctx = a.prompt * 8 + a.gen + 16;  // room for the prompt's tokens (a "word" may be several)
  o.n_seq = a.parallel;
  o.threads = a.threads;
  o.batch_invariant = true;
  o.max_batch = 4096;
  return generate::ModelRunner::load(a.model, o);
}

using Config = std::pair<std::string, std::vector<std::vector<generate::LoraFile>>>;

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse(argc, argv);
  fs::path dir =
      a.dir.empty() ? fs::temp_directory_path() / "hearth-adapters-bench" : fs::path(a.dir);
  fs::create_directories(dir);

  std::vector<std::string> files;
  std::map<std::string, std::uint64_t> file_bytes;  // A and B of each adapter, in memory
  {
    const auto model = model::Model::load(a.model);
    for (int i = 0; i < a.parallel; ++i) {
      const fs::path p = dir / ("adapter-" + std::to_string(i) + ".gguf");
      make_adapter(*model, a.rank, 100 + static_cast<uint64_t>(i), p);
      files.push_back(p.string());
      file_bytes[p.string()] = model::LoraAdapter::load(p, *model)->bytes();
    }
  }
  // The configurations: per slot, its adapters.
  std::vector<Config> configs;
  configs.push_back({"base", std::vector<std::vector<generate::LoraFile>>(a.parallel)});
  std::vector<std::vector<generate::LoraFile>> one, two, each;
  for (int s = 0; s < a.parallel; ++s) {
    one.push_back({{files[0], 1.0f}});
    two.push_back({{files[static_cast<size_t>(s % 2)], 1.0f}});
    each.push_back({{files[static_cast<size_t>(s)], 1.0f}});
  }
  configs.push_back({"1", one});
  configs.push_back({"2", two});
  if (a.parallel > 2) configs.push_back({std::to_string(a.parallel), each});
  auto adapter_bytes = [&](const Config& c) {  // the distinct files its slots use
    std::map<std::string, std::uint64_t> used;
    for (const auto& slot : c.second)
      for (const auto& f : slot) used[f.path] = file_bytes[f.path];
    std::uint64_t total = 0;
    for (const auto& [path, bytes] : used) total += bytes;
    return total;
  };

  // Memory: each configuration on a fresh runner (so no other configuration's adapters are
  // held), the process's RSS after a short run (every weight page touched by then).
  std::map<std::string, std::uint64_t> rss;
  for (const Config& c : configs) {
    auto runner = load(a);
    Args shorter = a;
    shorter.gen = 4;
    run(*runner, shorter, c.second);
    rss[c.first] = rss_bytes();
  }

  // Speed: one runner, the configurations interleaved in each repetition.
  auto runner = load(a);
  run(*runner, a, configs[0].second);  // warm-up
  std::map<std::string, std::vector<double>> tps, ratio, cpu_tps, cpu_ratio;
  for (int rep = 0; rep < a.reps; ++rep) {
    double base_tps = 0, base_cpu = 0;
    for (const Config& c : configs) {
      const Result r = run(*runner, a, c.second);
      const double t = r.tokens / r.seconds, tc = r.tokens / r.cpu_seconds;
      if (c.first == "base") base_tps = t, base_cpu = tc;
      tps[c.first].push_back(t);
      ratio[c.first].push_back(t / base_tps);
      cpu_tps[c.first].push_back(tc);
      cpu_ratio[c.first].push_back(tc / base_cpu);
      std::printf(
          "{\"rep\": %d, \"adapters\": \"%s\", \"tokens\": %d, \"seconds\": %.3f, "
          "\"cpu_seconds\": %.3f, \"tokens_per_s\": %.2f, \"ratio_to_base\": %.3f, "
          "\"tokens_per_cpu_s\": %.2f, \"cpu_ratio_to_base\": %.3f}\n",
          rep, c.first.c_str(), r.tokens, r.seconds, r.cpu_seconds, t, t / base_tps, tc,
          tc / base_cpu);
      std::fflush(stdout);
    }
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf(
      "{\"summary\": {\"model\": \"%s\", \"parallel\": %d, \"gen\": %d, \"rank\": %d, "
      "\"threads\": %d, \"reps\": %d, \"configs\": [",
      a.model.c_str(), a.parallel, a.gen, a.rank, a.threads, a.reps);
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string& name = configs[i].first;
    std::printf(
        "%s{\"adapters\": \"%s\", \"tokens_per_s\": %.2f, \"ratio_to_base\": %.3f, "
        "\"tokens_per_cpu_s\": %.2f, \"cpu_ratio_to_base\": %.3f, "
        "\"rss_bytes\": %llu, \"adapter_bytes\": %llu}",
        i ? ", " : "", name.c_str(), median(tps[name]), median(ratio[name]), median(cpu_tps[name]),
        median(cpu_ratio[name]), static_cast<unsigned long long>(rss[name]),
        static_cast<unsigned long long>(adapter_bytes(configs[i])));
  }
  std::printf("]}}\n");
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "adapters_bench: %s\n", e.what());
  return 1;
}
