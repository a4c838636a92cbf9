// The check after a pull (issue 5, item 5): the model is loaded with the engine, a short prompt
// is fed and a few tokens are generated greedily; the generation speed in tokens per second is
// the model's performance score on this machine. Every pull runs it (library_pull.h), the
// `hearth pull` command's and the HTTP API's alike.
#pragma once

#include <filesystem>

namespace hearth::library {

struct PullCheck {
  double load_seconds = 0;
  int prompt_tokens = 0;
  int generated_tokens = 0;
  double generate_seconds = 0;
  double tokens_per_second = 0;  // the decode steps after the first token / their time: the score
};

// Throws the engine's Error when the model cannot be loaded or run (corrupt_file, unsupported,
// out_of_memory, ...). A small context (256 tokens) keeps the check's memory low; it computes
// on HEARTH_THREADS threads (unset: one per core).
PullCheck check_pulled_model(const std::filesystem::path& gguf, int n_tokens = 8);

}  // namespace hearth::library
