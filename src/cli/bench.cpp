// `hearth bench MODEL`: see bench_model.cpp.
// `hearth bench tokenizer`: tokenization throughput per vocabulary on a mixed 1 MiB text.
// Prints one JSON object. The machine's memory copy bandwidth is measured in the same run so
// figures from noisy machines can be compared as ratios.
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/bench_model.h"
#include "cli/bench_text.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/json_text.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Best of a few copies of a 256 MiB buffer: GB/s of bytes read plus bytes written.
double memory_copy_gbps() {
  const size_t n = size_t{256} << 20;
  std::vector<char> a(n, 1), b(n, 0);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    auto start = Clock::now();
    std::memcpy(b.data(), a.data(), n);
    double s = seconds_since(start);
    best = std::max(best, 2.0 * static_cast<double>(n) / s / 1e9);
    a[static_cast<size_t>(i)] = b[n - 1 - static_cast<size_t>(i)];  // keep the copies observable
  }
  return best;
}

std::vector<std::filesystem::path> vocab_files(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".gguf") files.push_back(entry.path());
  if (ec) throw Error(ErrorKind::not_found, dir + ": cannot list folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

boost::json::object bench_one(const std::filesystem::path& path, const std::string& text,
                              int repeats) {
  auto file = gguf::File::open(path);
  auto tokenizer = tokenizer::Tokenizer::from_gguf(file);
  size_t n_tokens = 0;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    auto start = Clock::now();
    n_tokens = tokenizer.encode(text, false, false).size();
    best = std::min(best, seconds_since(start));
  }
  double mb = static_cast<double>(text.size()) / 1e6;
  return {{"vocab", path.filename().string()},
          {"model", tokenizer.model_name()},
          {"pre", tokenizer.pre_tokenizer_name()},
          {"n_vocab", tokenizer.n_vocab()},
          {"tokens", n_tokens},
          {"bytes_per_token", static_cast<double>(text.size()) / static_cast<double>(n_tokens)},
          {"best_seconds", best},
          {"mb_per_s", mb / best}};
}

}  // namespace

void register_bench(CLI::App& app) {
  auto* bench = app.add_subcommand(
      "bench", "measure hearth's speed on this machine: `bench MODEL` (prompt and generation "
               "tokens/s) or `bench tokenizer`");
  bench->require_subcommand(0, 1);
  static ModelBenchOptions model_options;
  static std::string kv_cache = "f16";
  bench->add_option("model", model_options.model, "model file (GGUF) to measure");
  bench->add_option("-p,--prompt", model_options.n_prompt,
                    "prompt tokens decoded in one batch (pp); 0 skips")
      ->check(CLI::Range(0, 1 << 16));
  bench->add_option("-n,--gen", model_options.n_gen, "generated tokens (tg); 0 skips")
      ->check(CLI::Range(0, 1 << 16));
  bench->add_option("-t,--threads", model_options.threads,
                    "threads (default: HEARTH_THREADS or one per physical core)")
      ->check(CLI::Range(0, 1024));
  bench->add_option("-r,--repetitions", model_options.repetitions, "repetitions of each test")
      ->check(CLI::Range(1, 1000));
  bench->add_option("-d,--depth", model_options.depths,
                    "tokens already in the cache when pp and tg are measured, comma-separated "
                    "for several (default 0)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 20));
  bench->add_option("--kv-cache", kv_cache, "KV cache type: f16 (default), q8_0 or f32");
  bench->add_flag("--json", model_options.json, "print one JSON object instead of a table");
  bench->add_option("--bandwidth-mib", model_options.bandwidth_mib,
                    "size of the read-bandwidth buffer in MiB (default 1024)")
      ->check(CLI::Range(1.0, 1048576.0));
  auto* tok = bench->add_subcommand("tokenizer", "tokenization MB/s per vocabulary (JSON)");
  static std::vector<std::string> vocabs;
  static std::string vocab_dir;
  static double size_mib = 1.0;
  static int repeats = 3;
  tok->add_option("vocab", vocabs, "vocabulary or model GGUF files");
  tok->add_option("--vocab-dir", vocab_dir, "measure every .gguf in this folder");
  tok->add_option("--size-mib", size_mib, "size of the mixed text in MiB")->check(CLI::Range(0.001, 256.0));
  tok->add_option("--repeat", repeats, "runs per vocabulary; the best is kept")->check(CLI::Range(1, 100));
  tok->callback([] {
    std::vector<std::filesystem::path> files(vocabs.begin(), vocabs.end());
    if (!vocab_dir.empty())
      for (auto& f : vocab_files(vocab_dir)) files.push_back(f);
    if (files.empty())
      throw Error(ErrorKind::invalid_input, "name vocabulary files or a --vocab-dir to measure");
    std::string text = mixed_bench_text(static_cast<size_t>(size_mib * 1024 * 1024));
    boost::json::array results;
    for (const auto& f : files) results.push_back(bench_one(f, text, repeats));
    const boost::json::object out = {{"benchmark", "tokenizer"},
                                     {"text_bytes", text.size()},
                                     {"repeats", repeats},
                                     {"memory_copy_gbps", memory_copy_gbps()},
                                     {"results", std::move(results)}};
    std::printf("%s\n", format_json(out, 2).c_str());
  });
  bench->callback([bench] {
    if (!bench->get_subcommands().empty()) return;  // bench tokenizer
    if (model_options.model.empty())
      throw Error(ErrorKind::invalid_input, "bench: name a model file, or `bench tokenizer`");
    model_options.kv_type = model::kv_type_from_name(kv_cache, "--kv-cache");
    run_model_bench(model_options);
  });
}

}  // namespace hearth::cli
