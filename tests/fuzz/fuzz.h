// hearth_fuzz: time-boxed mutation fuzzers of the parsers that read what others send (the API's
// request bodies, the desktop protocol, remote engines' SSE answers, multipart uploads, JSONL
// training data, chat templates), one binary with a target argument (fuzz_main.cpp).
//
// Shape, shared by every target:
//   - a target has seeds: valid inputs, plus regression inputs kept under tests/fuzz/seeds/TARGET/
//     (each replayed once before any mutation, then used as a seed like the others);
//   - each iteration picks a seed, mutates it (byte-level, or JSON-aware for JSON inputs) and
//     runs it in-process; the target's oracle returns "" or what went wrong;
//   - a watchdog bounds each input's time (HEARTH_FUZZ_HANG_SECONDS, default 10): past it, the
//     input is saved and the process exits with status 1;
//   - the seed printed first reproduces the run; a failing input is saved as
//     hearth_fuzz-TARGET-failure-N.bin in the current folder and replayed with --replay FILE.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::fuzz {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t below(std::uint64_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_);
  }
  bool one_in(std::uint64_t n) { return below(n) == 0; }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

// What one input did, for the closing figures: "400", "ok", "refused", ... counted by name.
struct Outcome {
  std::string failure;  // "" when the oracle is satisfied
  std::string label;    // a short class of the outcome for the statistics
};

class Target {
 public:
  virtual ~Target() = default;
  virtual std::string name() const = 0;
  // Called once before anything runs (may build databases, load models).
  virtual void setup() {}
  // The built-in valid inputs.
  virtual std::vector<std::string> seeds() = 0;
  // A mutant of `seed` (may use the other seeds for splices).
  virtual std::string mutate(const std::string& seed, Rng& rng) = 0;
  // Runs one input and judges it.
  virtual Outcome run(const std::string& input, Rng& rng) = 0;
  // Extra lines for the closing report (e.g. the routes reached).
  virtual std::vector<std::string> report() { return {}; }
};

// Targets (one file each).
std::unique_ptr<Target> make_api_target();        // api_target.cpp
std::unique_ptr<Target> make_hub_target();        // desktop_targets.cpp
std::unique_ptr<Target> make_agent_target();      // desktop_targets.cpp
std::unique_ptr<Target> make_sse_target();        // stream_targets.cpp
std::unique_ptr<Target> make_multipart_target();  // stream_targets.cpp
std::unique_ptr<Target> make_jsonl_target();      // data_targets.cpp
std::unique_ptr<Target> make_template_target();   // data_targets.cpp

// ---- mutations (mutate.cpp) ----

// Byte-level: bit flips, byte sets, truncation, inserted/deleted runs, runs copied from `donor`,
// hostile text (invalid UTF-8, NUL, long runs) inserted.
std::string mutate_bytes(std::string s, Rng& rng, std::string_view donor = {});

// JSON-aware: parses `text` (byte mutation when it is not JSON) and changes one node: a value
// replaced by one of another type or a hostile one (huge, negative, fractional, long text,
// invalid UTF-8, deep nesting), a key removed or added, an array grown. `changed_key` (may be
// null) receives the object key whose value changed, "" when none.
std::string mutate_json(const std::string& text, Rng& rng, std::string* changed_key = nullptr);

// A hostile JSON value of any type.
boost::json::value hostile_value(Rng& rng);
// Hostile text: long, invalid UTF-8, control characters, special-token text, format markers.
std::string hostile_text(Rng& rng);

// ---- shared checks ----

// Whether a 4xx answer's body is a JSON error with a message: {"error": "..."} or
// {"error": {"message": "..."}}; the message in `message`.
bool error_message_of(const std::string& body, std::string* message);

// The regression inputs kept for a target (files under tests/fuzz/seeds/TARGET/), sorted.
std::vector<std::string> regression_seeds(const std::string& target);

}  // namespace hearth::fuzz
