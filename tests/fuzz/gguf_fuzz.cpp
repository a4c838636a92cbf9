// gguf_fuzz --seconds N [--seed S] FILE...
//
// Mutates the given GGUF files at random (bit flips, byte sets, truncation, splices between files,
// inserted and deleted bytes, count and length fields overwritten with hostile values) and parses
// every mutant in-process for N seconds. Each mutant must parse or raise hearth::Error with kind
// corrupt_file or unsupported; anything else is reported, saved as gguf_fuzz-failure-<n>.gguf in
// the current folder, and makes the exit status 1. Crashes and sanitizer reports end the process
// on their own; the seed printed first reproduces the run.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/gguf_fields.h"
#include "support/test_support.h"

namespace {

using hearth::Error;
using hearth::ErrorKind;
namespace gguf = hearth::gguf;

struct Input {
  std::string name;
  std::vector<uint8_t> bytes;
  uint64_t header_size = 0;
  std::vector<gguf::test::Field> fields;
};

struct Options {
  double seconds = 10;
  uint64_t seed = 0;
  bool seed_given = false;
  std::vector<std::string> files;
};

[[noreturn]] void usage(const char* problem) {
  std::fprintf(stderr, "gguf_fuzz: %s\nusage: gguf_fuzz --seconds N [--seed S] FILE...\n", problem);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--seconds" || arg == "--seed") && i + 1 >= argc) usage("missing value");
    if (arg == "--seconds") {
      o.seconds = std::atof(argv[++i]);
    } else if (arg == "--seed") {
      o.seed = std::strtoull(argv[++i], nullptr, 10);
      o.seed_given = true;
    } else if (arg.starts_with("--")) {
      usage(("unknown option " + arg).c_str());
    } else {
      o.files.push_back(arg);
    }
  }
  if (o.files.empty()) usage("no input files");
  if (!(o.seconds > 0)) usage("--seconds must be positive");
  return o;
}

class Fuzzer {
 public:
  Fuzzer(std::vector<Input> inputs, uint64_t seed) : inputs_(std::move(inputs)), rng_(seed) {
    // Big files parse slowly; choosing them less often keeps the iteration rate useful.
    std::vector<double> weights;
    for (const Input& in : inputs_)
      weights.push_back(1.0 / std::sqrt(static_cast<double>(in.header_size) + 4096.0));
    pick_input_ = std::discrete_distribution<size_t>(weights.begin(), weights.end());
  }

  void run_once() {
    const Input& in = inputs_[pick_input_(rng_)];
    std::vector<uint8_t> mutant = in.bytes;
    const int rounds = 1 + static_cast<int>(below(4));
    for (int r = 0; r < rounds && !mutant.empty(); ++r) mutate(in, mutant);
    ++iterations_;
    try {
      const gguf::File file = gguf::File::parse(mutant, in.name);
      for (const gguf::TensorInfo& t : file.tensors())
        if (file.tensor_data(t).size() != t.n_bytes) unexpected(in, mutant, "wrong tensor span");
      ++accepted_;
    } catch (const Error& e) {
      ++rejected_;
      if (e.kind() != ErrorKind::corrupt_file && e.kind() != ErrorKind::unsupported)
        unexpected(in, mutant,
                   "Error(" + std::string(hearth::error_kind_name(e.kind())) + "): " + e.what());
    } catch (const std::exception& e) {
      unexpected(in, mutant, std::string("std::exception: ") + e.what());
    } catch (...) {
      unexpected(in, mutant, "a non-standard exception");
    }
  }

  uint64_t iterations() const { return iterations_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t rejected() const { return rejected_; }
  uint64_t failures() const { return failures_; }

 private:
  uint64_t below(uint64_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_);
  }

  // A position, three times out of four inside the header, where structure lives.
  uint64_t position(const Input& in, uint64_t size) {
    const uint64_t limit = below(4) != 0 ? std::min(in.header_size, size) : size;
    return below(std::max<uint64_t>(limit, 1));
  }

  void mutate(const Input& in, std::vector<uint8_t>& m) {
    static constexpr uint64_t kInteresting[] = {0,
                                                1,
                                                2,
                                                0x7F,
                                                0x80,
                                                0xFF,
                                                0x7FFFFFFF,
                                                0x80000000,
                                                0xFFFFFFFF,
                                                uint64_t{1} << 32,
                                                uint64_t{1} << 62,
                                                uint64_t{1} << 63,
                                                ~uint64_t{0}};
    switch (below(7)) {
      case 0:
        m[position(in, m.size())] ^= static_cast<uint8_t>(1u << below(8));
        break;
      case 1:
        m[position(in, m.size())] = static_cast<uint8_t>(below(256));
        break;
      case 2:
        m.resize(position(in, m.size()));
        break;
      case 3: {  // splice: bytes from any input over this one
        const Input& other = inputs_[below(inputs_.size())];
        const uint64_t from = below(other.bytes.size());
        const uint64_t at = position(in, m.size());
        const uint64_t n = std::min({below(64) + 1, other.bytes.size() - from, m.size() - at});
        std::memcpy(&m[at], &other.bytes[from], n);
        break;
      }
      case 4: {  // insert or delete a run, shifting everything after it
        const uint64_t at = position(in, m.size());
        const uint64_t n = below(16) + 1;
        if (below(2) == 0)
          m.insert(m.begin() + static_cast<ptrdiff_t>(at), n, static_cast<uint8_t>(below(256)));
        else
          m.erase(m.begin() + static_cast<ptrdiff_t>(at),
                  m.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(at + n, m.size())));
        break;
      }
      default: {  // a count, length, type, shape or offset field set to a hostile value
        if (in.fields.empty()) break;
        const gguf::test::Field& f = in.fields[below(in.fields.size())];
        if (f.position + f.width > m.size()) break;
        uint64_t v = kInteresting[below(std::size(kInteresting))];
        if (below(4) == 0) v = in.bytes.size() + below(3) - 1;  // just past or at the end
        std::memcpy(&m[f.position], &v, f.width);
        break;
      }
    }
  }

  void unexpected(const Input& in, const std::vector<uint8_t>& mutant, const std::string& what) {
    ++failures_;
    const std::string saved = "gguf_fuzz-failure-" + std::to_string(failures_) + ".gguf";
    std::ofstream(saved, std::ios::binary)
        .write(reinterpret_cast<const char*>(mutant.data()),
               static_cast<std::streamsize>(mutant.size()));
    std::fprintf(stderr, "gguf_fuzz: FAILURE on a mutant of %s (iteration %llu, saved as %s): %s\n",
                 in.name.c_str(), static_cast<unsigned long long>(iterations_), saved.c_str(),
                 what.c_str());
  }

  std::vector<Input> inputs_;
  std::mt19937_64 rng_;
  std::discrete_distribution<size_t> pick_input_;
  uint64_t iterations_ = 0, accepted_ = 0, rejected_ = 0, failures_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (!options.seed_given) options.seed = std::random_device{}();
  std::vector<Input> inputs;
  try {
    for (const std::string& path : options.files) {
      Input in;
      in.name = path;
      const std::string text = hearth::test::read_file(path);
      in.bytes.assign(text.begin(), text.end());
      in.header_size = gguf::File::parse(in.bytes, path).header_size();
      in.fields = gguf::test::gguf_fields(in.bytes);
      inputs.push_back(std::move(in));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gguf_fuzz: cannot use the inputs: %s\n", e.what());
    return 2;
  }
  std::printf("gguf_fuzz: seed %llu, %zu files, %.1f s\n",
              static_cast<unsigned long long>(options.seed), inputs.size(), options.seconds);
  std::fflush(stdout);

  Fuzzer fuzzer(std::move(inputs), options.seed);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(options.seconds);
  while (std::chrono::steady_clock::now() < deadline) fuzzer.run_once();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "gguf_fuzz: %llu iterations in %.1f s (%.0f/s): %llu accepted, %llu rejected, %llu "
      "failures\n",
      static_cast<unsigned long long>(fuzzer.iterations()), elapsed,
      static_cast<double>(fuzzer.iterations()) / elapsed,
      static_cast<unsigned long long>(fuzzer.accepted()),
      static_cast<unsigned long long>(fuzzer.rejected()),
      static_cast<unsigned long long>(fuzzer.failures()));
  return fuzzer.failures() == 0 ? 0 : 1;
}
