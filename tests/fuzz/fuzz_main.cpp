// hearth_fuzz --target NAME [--seconds N] [--seed S] [--replay FILE]
//
// Runs one fuzz target (fuzz.h) for N seconds (default: $HEARTH_FUZZ_SECONDS, else 2): first its
// regression inputs (tests/fuzz/seeds/NAME/), then mutants of its seeds. Prints the seed first and
// the figures last (inputs tried, outcomes by class, failures, hangs). Exit status 0 when every
// input satisfied the target's oracle, 1 otherwise (failing inputs saved as
// hearth_fuzz-NAME-failure-K.bin), 2 for a usage error. --replay runs one saved input and stops.
// Targets: api, hub, agent, sse, multipart, jsonl, template.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "fuzz/fuzz.h"

namespace {

using namespace hearth::fuzz;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string target;
  double seconds = 2;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::string replay;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "hearth_fuzz: %s\nusage: hearth_fuzz --target api|hub|agent|sse|multipart|jsonl|"
               "template [--seconds N] [--seed S] [--replay FILE]\n",
               problem.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (const char* s = std::getenv("HEARTH_FUZZ_SECONDS"); s != nullptr && *s != '\0')
    o.seconds = std::atof(s);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string value = argv[++i];
    if (arg == "--target") {
      o.target = value;
    } else if (arg == "--seconds") {
      o.seconds = std::atof(value.c_str());
    } else if (arg == "--seed") {
      o.seed = std::strtoull(value.c_str(), nullptr, 10);
      o.seed_given = true;
    } else if (arg == "--replay") {
      o.replay = value;
    } else {
      usage("unknown option " + arg);
    }
  }
  if (o.target.empty()) usage("no --target");
  if (!(o.seconds > 0)) usage("--seconds must be positive");
  return o;
}

std::unique_ptr<Target> make_target(const std::string& name) {
  if (name == "api") return make_api_target();
  if (name == "hub") return make_hub_target();
  if (name == "agent") return make_agent_target();
  if (name == "sse") return make_sse_target();
  if (name == "multipart") return make_multipart_target();
  if (name == "jsonl") return make_jsonl_target();
  if (name == "template") return make_template_target();
  usage("unknown target " + name);
}

// Ends the process when one input runs past the hang bound, after saving it.
class Watchdog {
 public:
  Watchdog(std::string target, double bound_seconds)
      : target_(std::move(target)), bound_(bound_seconds), thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void begin(const std::string& input) {
    std::lock_guard lock(mutex_);
    input_ = input;
    started_ = Clock::now();
    busy_ = true;
  }
  void end() {
    std::lock_guard lock(mutex_);
    busy_ = false;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      wake_.wait_for(lock, std::chrono::milliseconds(100));
      if (!busy_ || Clock::now() - started_ < std::chrono::duration<double>(bound_)) continue;
      const std::string saved = "hearth_fuzz-" + target_ + "-hang.bin";
      std::ofstream(saved, std::ios::binary).write(input_.data(), static_cast<std::streamsize>(input_.size()));
      std::fprintf(stderr, "hearth_fuzz: HANG: one %s input ran past %.0f s (saved as %s)\n",
                   target_.c_str(), bound_, saved.c_str());
      std::fflush(stderr);
      std::_Exit(1);
    }
  }

  std::string target_;
  double bound_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string input_;
  Clock::time_point started_{};
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) usage("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (!options.seed_given) options.seed = std::random_device{}();
  double hang_bound = 10;
  if (const char* h = std::getenv("HEARTH_FUZZ_HANG_SECONDS"); h != nullptr && std::atof(h) > 0)
    hang_bound = std::atof(h);

  // Hostile inputs make the code under test warn a lot; HEARTH_LOG=warn shows it.
  if (std::getenv("HEARTH_LOG") == nullptr) ::setenv("HEARTH_LOG", "off", 1);
  hearth::log::init_from_config();
  std::unique_ptr<Target> target = make_target(options.target);
  try {
    target->setup();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearth_fuzz: %s: setup failed: %s\n", options.target.c_str(), e.what());
    return 2;
  }
  Rng rng(options.seed);
  Watchdog watchdog(options.target, hang_bound);
  std::uint64_t tried = 0, failures = 0;
  std::map<std::string, std::uint64_t> labels;
  double slowest = 0;
  std::string slowest_input;
  const auto judge = [&](const std::string& input, const char* how) {
    watchdog.begin(input);
    const auto began = Clock::now();
    Outcome o;
    try {
      o = target->run(input, rng);
    } catch (const std::exception& e) {
      o.failure = std::string("an exception escaped: ") + e.what();
    } catch (...) {
      o.failure = "a non-standard exception escaped";
    }
    watchdog.end();
    const double took = std::chrono::duration<double>(Clock::now() - began).count();
    if (took > slowest) {
      slowest = took;
      slowest_input = input;
    }
    ++tried;
    ++labels[o.failure.empty() ? o.label : "FAILURE"];
    if (o.failure.empty()) return;
    ++failures;
    if (!options.replay.empty()) {
      std::fprintf(stderr, "hearth_fuzz: FAILURE: %s\n", o.failure.c_str());
      return;
    }
    const std::string saved =
        "hearth_fuzz-" + options.target + "-failure-" + std::to_string(failures) + ".bin";
    std::ofstream(saved, std::ios::binary).write(input.data(), static_cast<std::streamsize>(input.size()));
    std::fprintf(stderr, "hearth_fuzz: FAILURE (%s input %llu, saved as %s): %s\n", how,
                 static_cast<unsigned long long>(tried), saved.c_str(), o.failure.c_str());
  };

  if (!options.replay.empty()) {
    judge(read_all(options.replay), "replayed");
    std::printf("hearth_fuzz: %s: replayed %s: %s\n", options.target.c_str(), options.replay.c_str(),
                failures == 0 ? "passed" : "FAILED");
    return failures == 0 ? 0 : 1;
  }

  std::vector<std::string> seeds = target->seeds();
  const std::vector<std::string> kept = regression_seeds(options.target);
  std::printf("hearth_fuzz: %s: seed %llu, %zu seeds + %zu regression inputs, %.1f s, hang bound %.0f s\n",
              options.target.c_str(), static_cast<unsigned long long>(options.seed), seeds.size(),
              kept.size(), options.seconds, hang_bound);
  std::fflush(stdout);
  const auto start = Clock::now();
  for (const std::string& input : kept) judge(input, "regression");
  seeds.insert(seeds.end(), kept.begin(), kept.end());
  if (seeds.empty()) seeds.push_back("");
  const auto deadline = start + std::chrono::duration<double>(options.seconds);
  while (Clock::now() < deadline) {
    const std::string& seed = rng.pick(seeds);
    judge(rng.one_in(16) ? seed : target->mutate(seed, rng), "mutant");
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::string classes;
  for (const auto& [label, n] : labels)
    classes += (classes.empty() ? "" : ", ") + label + " " + std::to_string(n);
  std::printf("hearth_fuzz: %s: %llu inputs in %.1f s (%.0f/s), %llu failures, 0 hangs; %s\n",
              options.target.c_str(), static_cast<unsigned long long>(tried), elapsed,
              static_cast<double>(tried) / elapsed, static_cast<unsigned long long>(failures),
              classes.c_str());
  std::printf("hearth_fuzz: %s: slowest input %.0f ms (%zu bytes)\n", options.target.c_str(),
              slowest * 1000, slowest_input.size());
  if (const char* keep = std::getenv("HEARTH_FUZZ_KEEP_SLOWEST"); keep != nullptr && *keep != '\0')
    std::ofstream(keep, std::ios::binary)
        .write(slowest_input.data(), static_cast<std::streamsize>(slowest_input.size()));
  for (const std::string& line : target->report())
    std::printf("hearth_fuzz: %s: %s\n", options.target.c_str(), line.c_str());
  return failures == 0 ? 0 : 1;
}
