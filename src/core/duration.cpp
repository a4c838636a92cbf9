// See duration.h.
#include "core/duration.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>

namespace hearth {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  while (!s.empty()) {
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc::result_out_of_range) {
      // Too large (or too small) for a double: "1e400" is forever, "1e-400" nothing.
      const std::string_view number(s.data(), static_cast<size_t>(end - s.data()));
      const auto e = number.find_first_of("eE");
      value = e != std::string_view::npos && e + 1 < number.size() && number[e + 1] == '-'
                  ? 0
                  : HUGE_VAL;
    } else if (ec != std::errc() || std::isnan(value) || value < 0) {
      return std::nullopt;
    }
    s.remove_prefix(static_cast<size_t>(end - s.data()));
    double unit = 1000;  // a bare number is seconds
    if (s.rfind("ms", 0) == 0) unit = 1, s.remove_prefix(2);
    else if (s.rfind("h", 0) == 0) unit = 3'600'000, s.remove_prefix(1);
    else if (s.rfind("m", 0) == 0) unit = 60'000, s.remove_prefix(1);
    else if (s.rfind("s", 0) == 0) unit = 1000, s.remove_prefix(1);
    else if (!s.empty()) return std::nullopt;
    total_ms += value * unit;
  }
  // Beyond what a clock can add without overflowing (see duration.h): forever.
  if (!(total_ms <= static_cast<double>(kLongestDuration.count()))) return std::chrono::milliseconds(-1);
  const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
  if (negative && ms.count() != 0) return std::chrono::milliseconds(-1);
  return ms;
}

}  // namespace hearth
