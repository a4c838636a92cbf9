// The evaluation gate's figures (loop.h, "eval_results"): the loss on the assistant tokens of the
// held-out split for the base, the tuned adapter and the version served now, and greedy answers
// of base and tuned to a few held-out prompts, side by side.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "train/examples.h"
#include "train/network.h"
#include "train/trainer.h"

namespace hearth::loop {

struct ServedAdapter {
  int version = 0;
  train::LoraAdapter adapter;
};

// {"metric", "examples", "base", "tuned", "served"?, "compared_with", "better"}; the base's loss
// is the tuned adapter's with every B zero (exactly the base's products). Without held-out
// examples nothing can be compared: "better" is false and "note" says why.
boost::json::object compare_losses(const train::Network& network, const train::TrainSettings& settings,
                                   const std::vector<train::Example>& held_out,
                                   const train::LoraAdapter& tuned,
                                   const std::optional<ServedAdapter>& served);

// Up to `n` held-out conversations of a chat JSONL file (the validation split): the messages
// before each one's last answer, answered greedily by the base and by the base with `adapter`.
// [{"prompt": [messages], "expected", "base", "tuned"}]
boost::json::array answer_samples(const std::filesystem::path& base_model,
                                  const std::filesystem::path& adapter,
                                  const std::filesystem::path& validation_file, int n, int threads);

}  // namespace hearth::loop
