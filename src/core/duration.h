// Durations as people write them for keep-alive settings: "5m", "30s", "1h30m", "250ms", a bare
// number of seconds ("90"), and negative values ("-1", "-1m") meaning "forever".
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace hearth {

// The duration in milliseconds; any negative value gives -1 ms (forever). nullopt for anything
// else (empty text, unknown units, inner spaces, non-finite or absurdly large numbers).
// Surrounding whitespace is ignored.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace hearth
