// A training job's hyperparameters as users give them: OpenAI's names (n_epochs, batch_size,
// learning_rate_multiplier; each a number or "auto"), under "hyperparameters" or
// "method": {"type": "supervised", "supervised": {"hyperparameters": {...}}}, plus hearth's own
// rank, alpha, learning_rate and max_steps. Unset ("auto") values are chosen when the job runs
// (resolve()): the batch by the memory planner, the rest from the data's size.
#pragma once

#include <cstdint>
#include <optional>

#include <boost/json/object.hpp>

namespace hearth::loop {

struct Hyperparameters {
  std::optional<std::int64_t> n_epochs{};
  std::optional<std::int64_t> batch_size{};
  std::optional<double> learning_rate_multiplier{};
  std::optional<double> learning_rate{};  // the peak rate itself (wins over the multiplier)
  std::optional<std::int64_t> rank{};
  std::optional<double> alpha{};
  std::optional<std::int64_t> max_steps{};  // stop after this many steps
};

// Reads a request body's hyperparameters (both places; the method's win when both are given).
// Error(invalid_input) naming the field for a wrong type, an unknown name or a value out of range.
Hyperparameters parse_hyperparameters(const boost::json::object& body);
// One "hyperparameters" object on its own (as stored with a job).
Hyperparameters read_hyperparameters(const boost::json::object& object);
// Every field, "auto" for the unset ones.
boost::json::object to_json(const Hyperparameters& h);

// What a job trains with.
struct TrainingSettings {
  std::int64_t epochs = 3;
  std::int64_t batch = 4;
  std::int64_t rank = 16;
  double alpha = 32;
  double learning_rate = 2e-4;
  std::int64_t steps = 1;  // epochs × ceil(examples / batch), at most max_steps
  int max_seq = 1024;
};

inline constexpr double kBaseLearningRate = 2e-4;  // multiplied by learning_rate_multiplier

// The settings for `examples` training examples with `batch` (the planner's choice when the user
// left batch_size to auto).
TrainingSettings resolve(const Hyperparameters& h, std::int64_t examples, std::int64_t batch);
// The used values, as the job's stored hyperparameters ("used").
boost::json::object to_json(const TrainingSettings& s);

}  // namespace hearth::loop
