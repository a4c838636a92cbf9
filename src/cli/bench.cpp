// `hearth bench MODEL`: see bench_model.cpp.
// `hearth bench tokenizer`: tokenization throughput per vocabulary on a mixed 1 MiB text.
// Prints one JSON object: MB/s with the word cache (the default) and without it, measured in
// alternating runs (best wall-clock and best thread-CPU time of each), and their ratios; then the
// same on a quarter as much text of random words (the cache's worst case: every word a miss). The CPU (model and family) and the machine's memory copy
// bandwidth, measured in the same run, come with it so figures from other or noisy machines can
// be compared as ratios.
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/bench_model.h"
#include "cli/bench_text.h"
#include "cli/model_session.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/json_text.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/word_cache.h"
#include "hardware/cpu_name.h"

namespace hearth::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the calling thread: unlike the wall clock, it does not count the time other
// processes on a busy machine take from this one.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Timing {
  double wall = 1e30;  // best of the runs, seconds
  double cpu = 1e30;
};

// Encodes `text` once, keeping the best wall and CPU times in `t`.
std::vector<int32_t> timed_encode(const tokenizer::Tokenizer& tok, const std::string& text,
                                  Timing& t) {
  const double cpu0 = thread_cpu_seconds();
  const auto start = Clock::now();
  std::vector<int32_t> ids = tok.encode(text, false, false);
  t.wall = std::min(t.wall, seconds_since(start));
  t.cpu = std::min(t.cpu, thread_cpu_seconds() - cpu0);
  return ids;
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

// The cache's worst case: `n_bytes` of random lower-case words of 3 to 12 letters, so almost
// no word repeats and every one is a miss that also pays for being stored.
std::string distinct_words_text(size_t n_bytes) {
  std::string text;
  text.reserve(n_bytes + 16);
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  auto next = [&state] {  // xorshift64: fixed seed, the same text every run
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  while (text.size() < n_bytes) {
    const uint64_t r = next();
    const size_t length = 3 + r % 10;
    for (size_t i = 0; i < length; ++i) text.push_back(static_cast<char>('a' + (next() % 26)));
    text.push_back(' ');
  }
  text.resize(n_bytes);
  return text;
}

boost::json::object distinct_json(std::pair<double, double> mb_per_cpu_s) {
  return {{"mb_per_cpu_s", mb_per_cpu_s.first},
          {"mb_per_cpu_s_no_cache", mb_per_cpu_s.second},
          {"cache_speedup_cpu", mb_per_cpu_s.first / mb_per_cpu_s.second}};
}

// Best thread-CPU MB/s over `repeats` alternating runs with and without the cache.
std::pair<double, double> cpu_mb_per_s(const gguf::File& file, const std::string& text,
                                       int repeats) {
  Timing cached, plain;
  for (int r = 0; r < repeats; ++r) {
    tokenizer::set_word_cache_enabled(true);
    timed_encode(tokenizer::Tokenizer::from_gguf(file), text, cached);
    tokenizer::set_word_cache_enabled(false);
    timed_encode(tokenizer::Tokenizer::from_gguf(file), text, plain);
  }
  tokenizer::set_word_cache_enabled(true);
  const double mb = static_cast<double>(text.size()) / 1e6;
  return {mb / cached.cpu, mb / plain.cpu};
}

boost::json::object bench_one(const std::filesystem::path& path, const std::string& text,
                              const std::string& distinct, int repeats) {
  auto file = gguf::File::open(path);
  std::vector<int32_t> ids, ids_plain;
  Timing cached, plain;
  // Runs alternate with and without the word cache, so both see the same machine load. Each run
  // loads the vocabulary again (not timed), so the cache starts empty every time.
  for (int r = 0; r < repeats; ++r) {
    tokenizer::set_word_cache_enabled(true);
    ids = timed_encode(tokenizer::Tokenizer::from_gguf(file), text, cached);
    tokenizer::set_word_cache_enabled(false);
    ids_plain = timed_encode(tokenizer::Tokenizer::from_gguf(file), text, plain);
  }
  tokenizer::set_word_cache_enabled(true);
  // The cache must not change a single id; a benchmark that found otherwise is a bug report.
  if (ids != ids_plain)
    throw Error(ErrorKind::internal,
                path.string() + ": the word cache changed the ids (" + std::to_string(ids.size()) +
                    " tokens with it, " + std::to_string(ids_plain.size()) + " without)");
  const size_t n_tokens = ids.size();
  const auto tokenizer = tokenizer::Tokenizer::from_gguf(file);
  double mb = static_cast<double>(text.size()) / 1e6;
  return {{"vocab", path.filename().string()},
          {"model", tokenizer.model_name()},
          {"pre", tokenizer.pre_tokenizer_name()},
          {"n_vocab", tokenizer.n_vocab()},
          {"tokens", n_tokens},
          {"bytes_per_token", static_cast<double>(text.size()) / static_cast<double>(n_tokens)},
          {"best_seconds", cached.wall},
          {"mb_per_s", mb / cached.wall},
          {"mb_per_cpu_s", mb / cached.cpu},
          {"mb_per_s_no_cache", mb / plain.wall},
          {"mb_per_cpu_s_no_cache", mb / plain.cpu},
          {"cache_speedup", plain.wall / cached.wall},
          {"cache_speedup_cpu", plain.cpu / cached.cpu},
          {"distinct_words", distinct_json(cpu_mb_per_s(file, distinct, repeats))}};
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
  add_gpu_options(bench, model_options.gpu_layers, model_options.gpu_device);
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
    const std::string distinct = distinct_words_text(text.size() / 4);
    for (const auto& f : files) results.push_back(bench_one(f, text, distinct, repeats));
    const boost::json::object out = {{"benchmark", "tokenizer"},
                                     {"cpu", hardware::this_cpu_description()},
                                     {"text_bytes", text.size()},
                                     {"distinct_words_bytes", distinct.size()},
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
