// Durations as people write them for keep-alive settings: "5m", "30s", "1h30m", "250ms", a bare
// number of seconds ("90"), and negative values ("-1", "-1m") meaning "forever".
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hearth {

// The longest duration kept as it is: 100 years. Anything longer means forever, so that adding
// it to a clock's time (nanoseconds since the epoch) can never overflow.
inline constexpr std::chrono::milliseconds kLongestDuration{3'155'760'000'000};

// The duration in milliseconds; any negative value, and anything longer than kLongestDuration
// (however large, "1e400" included), gives -1 ms (forever). nullopt for anything else (empty
// text, unknown units, inner spaces, "nan"). Surrounding whitespace is ignored.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace hearth
