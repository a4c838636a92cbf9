// Training examples in the pre-tokenized JSONL format: one JSON object a line,
//   {"tokens": [id, ...], "mask": [0|1, ...]}
// with as many mask entries as tokens; position t is trained to predict tokens[t+1] where
// mask[t+1] = 1. Blank lines are skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "train/network.h"

namespace hearth::train {

struct Example {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> mask;

  Sequence sequence() const { return {tokens, mask}; }
};

// Every example of `text`, checked before any is used: tokens in [0, n_vocab), a mask of 0s and
// 1s as long as the tokens, at least one target. Error(invalid_input) listing the bad lines by
// number (the first 10, and how many there are), `source` naming where they came from.
std::vector<Example> parse_tokenized_jsonl(std::string_view text, int64_t n_vocab,
                                           std::string_view source);
// The same from a file (Error(not_found / io) when it cannot be read).
std::vector<Example> read_tokenized_jsonl(const std::filesystem::path& path, int64_t n_vocab);

}  // namespace hearth::train
