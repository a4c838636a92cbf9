// Learning-rate schedules: a linear warm-up from 0 over the first `warmup` steps, then constant,
// cosine decay to 0, or linear decay to 0 at the last step.
#pragma once

#include <cstdint>
#include <string_view>

namespace hearth::train {

enum class Schedule { constant, cosine, linear };

// "constant" | "cosine" | "linear"; Error(invalid_input) naming the three otherwise.
Schedule parse_schedule(std::string_view name);

// The learning rate of step s (1-based) of `total`: lr·s/(warmup+1) during the warm-up
// (s ≤ warmup), then, with p = (s − warmup − 1)/(total − warmup − 1) running from 0 to 1 over the
// remaining steps (p = 0 when only one remains): lr (constant), lr·(1 + cos πp)/2 (cosine) or
// lr·(1 − p) (linear).
double learning_rate(Schedule schedule, double lr, int64_t step, int64_t total, int64_t warmup);

}  // namespace hearth::train
