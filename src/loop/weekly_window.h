// A user's weekly off-peak window for background training ("sunday 02:00-06:00" in their own
// time zone) and the one rule for when a scheduled run is due.
//
// Windows are computed in local time, so they stay at the same wall-clock hours across
// daylight-saving changes: on Berlin's spring change day a 02:00-06:00 window starts at 03:00
// (the clocks skip 02:00-03:00) and lasts three real hours; on the autumn day it starts at the
// first 02:00 and lasts five. Everything takes "now" as an argument, so tests inject the clock.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time_zone.h"

namespace hearth::loop {

struct WeeklyWindow {
  std::vector<int> days;  // weekdays the window starts on, 0 = Sunday .. 6 = Saturday; at least one
  int start_minute = 0;   // local minute of the day it starts, 0..1439
  int end_minute = 0;     // local minute it ends, 0..1440; end <= start means it ends the next day
  std::string time_zone;  // IANA name ("Europe/Berlin")

  bool operator==(const WeeklyWindow&) const = default;
};

// Parses "sunday 02:00-06:00", "sun,wed 23:30-01:30", "daily 02:00-05:00": days (full or
// three-letter English names, comma-separated, or "daily"), then start-end as HH:MM (24:00 allowed
// as an end). Case-insensitive. Days come out sorted without repeats. Throws Error(invalid_input)
// saying what is wrong for anything else. The zone is not part of the text; it is checked when a
// TimeZone is loaded for it.
WeeklyWindow parse_weekly_window(std::string_view text, std::string time_zone);

// The text form parse_weekly_window reads: "sun,wed 23:30-01:30", "daily 02:00-05:00". Throws
// as check() does for a window that breaks the rules.
std::string to_text(const WeeklyWindow& window);

// Throws Error(invalid_input) when a window built in code breaks the rules above.
void check(const WeeklyWindow& window);

// One occurrence of the window: [start, end) in real time.
struct Window {
  std::chrono::sys_seconds start;
  std::chrono::sys_seconds end;
  bool operator==(const Window&) const = default;
};

// The occurrence that contains `now` (start inclusive, end exclusive), if any. `zone` is the
// window's time_zone, loaded by the caller.
std::optional<Window> window_at(const WeeklyWindow& window, const TimeZone& zone,
                                std::chrono::sys_seconds now);

// The first occurrence that starts after `after` (strictly).
Window next_window(const WeeklyWindow& window, const TimeZone& zone,
                   std::chrono::sys_seconds after);

// The scheduling rule: the occurrence to run now, or nullopt. A run is due when now is inside an
// occurrence that starts after `last_run_window_start` (the start of the occurrence the caller
// last ran and stored). So each occurrence runs at most once, even across restarts; one missed
// while the server was down is not made up late (the next one runs); and if the clock is set
// back, an older occurrence never runs after a newer one.
std::optional<Window> due(const WeeklyWindow& window, const TimeZone& zone,
                          std::optional<std::chrono::sys_seconds> last_run_window_start,
                          std::chrono::sys_seconds now);

}  // namespace hearth::loop
