// Token sampling: one decode step's logits -> the next token; and a stop-string filter for the
// text that streams out.
//
// The chain runs in llama.cpp's order; the defaults are Ollama's:
//   penalties    over the last repeat_last_n accepted tokens: repeat_penalty divides a positive
//                logit and multiplies a zero or negative one; then presence_penalty is subtracted
//                once from every token that occurred and frequency_penalty once per occurrence
//   top-k        keep the k highest logits                                        (0: off)
//   top-p        keep the fewest most probable tokens whose probabilities (softmax at temperature
//                1) add up to at least top_p                                       (1: off)
//   min-p        keep the tokens at least min_p times as probable as the top one  (0: off)
//   temperature  divide the kept logits by it
//   draw         one token from the softmax of what is left, with the sampler's own generator
// Greedy (temperature 0 or greedy = true): the argmax of the penalized logits, ties going to the
// lowest id; the filters and the generator are not used.
//
// Reproducibility: the generator is std::mt19937_64, whose output sequence the C++ standard fixes,
// and the draw turns 53 of its bits into a double itself (std::uniform_real_distribution is
// implementation-defined and not used). The same seed, settings, accepted tokens and logits give
// the same tokens on every platform, to the extent that exp() is correctly rounded there.
//
// A Sampler holds one sequence's state (its history and generator) and is not thread-safe; give
// each sequence its own.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth::sampler {

struct SamplerSettings {
  float temperature = 0.8f;     // >= 0; 0 means greedy
  int top_k = 40;               // >= 0; 0 turns top-k off
  float top_p = 0.9f;           // in (0, 1]; 1 turns top-p off
  float min_p = 0.0f;           // in [0, 1]; 0 turns min-p off
  float repeat_penalty = 1.1f;  // > 0; 1 turns it off
  int repeat_last_n = 64;       // tokens of history the penalties see; 0: none, -1: all since reset
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0;    // callers wanting a different run each time pass Sampler::random_seed()
  bool greedy = false;  // argmax regardless of temperature
};

// Checks every setting; Error(invalid_input) naming the first bad one and its allowed range
// (NaN and infinities are never allowed).
void validate(const SamplerSettings& settings);

class Sampler {
 public:
  // Error(invalid_input) for invalid settings (see validate) or n_vocab < 1.
  Sampler(SamplerSettings settings, int n_vocab);

  // The next token for these logits (n_vocab of them; a different count is a bug). NaN logits
  // count as -infinity. Does not record the token: call accept() with the token actually used.
  int32_t sample(std::span<const float> logits);

  // Records a token as part of the sequence, for the penalties (prompt tokens may be accepted too).
  // Error(invalid_input) for an id outside [0, n_vocab).
  void accept(int32_t token);

  // Forgets the history and restarts the generator from the seed: the sampler then repeats the
  // run it made after construction.
  void reset();

  const SamplerSettings& settings() const { return settings_; }
  int n_vocab() const { return n_vocab_; }

  // A seed from std::random_device, for runs that need not be repeatable.
  static uint64_t random_seed();

 private:
  struct Candidate {
    float logit;
    int32_t id;
  };

  bool is_greedy() const { return settings_.greedy || settings_.temperature == 0.0f; }
  void apply_penalties();
  int32_t argmax() const;
  void keep_top_k();
  void keep_top_p();
  void keep_min_p();
  int32_t draw();
  double uniform();  // in [0, 1), 53 bits from the generator

  SamplerSettings settings_;
  int n_vocab_;
  std::mt19937_64 rng_;
  std::deque<int32_t> history_;              // the last repeat_last_n accepted tokens, oldest first
  std::unordered_map<int32_t, int> counts_;  // occurrences of each token in history_
  std::vector<Candidate> candidates_;        // scratch, reused between calls
  bool sorted_ = false;                      // candidates_ by logit descending, then id ascending
};

// Holds back streamed text that could be the start of a stop string, and cuts the stream where one
// appears. Feed it each decoded piece; it returns the text safe to show now. A stop string itself
// is never emitted, nor anything after it. Pieces should be whole UTF-8 characters (StreamDecoder
// gives such); text is then only ever cut at character boundaries. Empty stop strings are ignored.
// Limits on the number of tokens are the caller's business.
class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);

  struct Result {
    std::string text;      // safe to emit now (may be empty)
    bool stopped = false;  // a stop string was found: end generation, emit nothing more
  };

  // Adds one piece. After a stop every later push returns empty text and stopped = true.
  Result push(std::string_view piece);
  // Ends the stream without a stop: the held-back text comes out. Resets for a new stream.
  std::string finish();

  bool stopped() const { return stopped_; }
  // The stop string that ended the stream (empty before a stop).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // received but not yet emitted: a possible start of a stop string
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace hearth::sampler
