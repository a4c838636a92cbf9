#include "train/schedule.h"

#include <cmath>
#include <numbers>
#include <string>

#include "core/error.h"

namespace hearth::train {

Schedule parse_schedule(std::string_view name) {
  if (name == "constant") return Schedule::constant;
  if (name == "cosine") return Schedule::cosine;
  if (name == "linear") return Schedule::linear;
  throw Error(ErrorKind::invalid_input, "unknown learning-rate schedule \"" + std::string(name) +
                                            "\" (constant, cosine or linear)");
}

double learning_rate(Schedule schedule, double lr, int64_t step, int64_t total, int64_t warmup) {
  if (step <= warmup) return lr * static_cast<double>(step) / static_cast<double>(warmup + 1);
  const int64_t span = total - warmup - 1;
  const double p =
      span > 0 ? static_cast<double>(step - warmup - 1) / static_cast<double>(span) : 0;
  switch (schedule) {
    case Schedule::constant:
      return lr;
    case Schedule::cosine:
      return lr * 0.5 * (1 + std::cos(std::numbers::pi * p));
    case Schedule::linear:
      return lr * (1 - p);
  }
  return lr;
}

}  // namespace hearth::train
