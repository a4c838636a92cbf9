#include "loop/weekly_window.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/error.h"

namespace hearth::loop {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kDayNames = {"sunday",   "monday", "tuesday", "wednesday",
                                                       "thursday", "friday", "saturday"};

[[noreturn]] void refuse(std::string_view text, const std::string& why) {
  throw Error(ErrorKind::invalid_input, "training window '" + std::string(text) + "': " + why +
                                            " (write it like \"sunday 02:00-06:00\", \"sun,wed "
                                            "23:30-01:30\" or \"daily 02:00-05:00\")");
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<int> parse_days(std::string_view text, std::string_view days) {
  if (trim(days) == "daily") return {0, 1, 2, 3, 4, 5, 6};
  std::vector<int> out;
  size_t begin = 0;
  while (begin <= days.size()) {
    const size_t comma = std::min(days.find(',', begin), days.size());
    const std::string name = trim(days.substr(begin, comma - begin));
    if (name.empty()) refuse(text, "a day is missing");
    int found = -1;
    for (int d = 0; d < 7; ++d)
      if (name == kDayNames[d] || name == kDayNames[d].substr(0, 3)) found = d;
    if (found < 0) refuse(text, "unknown day '" + name + "'");
    out.push_back(found);
    begin = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// "H:MM" or "HH:MM" as minutes of the day; 24:00 only where it may end the window.
int parse_time(std::string_view text, std::string_view time, bool is_end) {
  const size_t colon = time.find(':');
  const bool shape_ok =
      colon != std::string_view::npos && (colon == 1 || colon == 2) && time.size() == colon + 3 &&
      std::all_of(time.begin(), time.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == ':'; }) &&
      time.find(':', colon + 1) == std::string_view::npos;
  if (!shape_ok) refuse(text, "'" + std::string(time) + "' is not a time of day (HH:MM)");
  const int hours = std::stoi(std::string(time.substr(0, colon)));
  const int minutes = std::stoi(std::string(time.substr(colon + 1)));
  const int total = hours * 60 + minutes;
  if (minutes > 59 || total > 24 * 60 || (total == 24 * 60 && !is_end))
    refuse(text,
           "'" + std::string(time) + "' is not a time of day (00:00 to 23:59, 24:00 as an end)");
  return total;
}

std::string two_digits(int n) {
  return std::string(1, char('0' + n / 10)) + char('0' + n % 10);
}

std::string clock_text(int minute) {
  return two_digits(minute / 60) + ":" + two_digits(minute % 60);
}

// The occurrence that starts on local date `day` (which must be one of the window's days).
Window occurrence(const WeeklyWindow& w, const TimeZone& zone, local_days day) {
  const local_seconds start = day + minutes{w.start_minute};
  const local_seconds end =
      day + days{w.end_minute <= w.start_minute ? 1 : 0} + minutes{w.end_minute};
  return {zone.to_utc(start), zone.to_utc(end)};
}

bool starts_on(const WeeklyWindow& w, local_days day) {
  const int weekday_number = static_cast<int>(weekday{day}.c_encoding());
  return std::find(w.days.begin(), w.days.end(), weekday_number) != w.days.end();
}

}  // namespace

WeeklyWindow parse_weekly_window(std::string_view text, std::string time_zone) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // The days end where the first time begins; spaces around the dash are allowed, and so is an
  // en dash ("02:00–06:00") as people write ranges.
  const size_t first_digit = lower.find_first_of("0123456789");
  if (first_digit == std::string::npos) refuse(text, "no times");
  if (trim(lower.substr(0, first_digit)).empty()) refuse(text, "no days");
  std::string times;
  for (char c : lower.substr(first_digit))
    if (!std::isspace(static_cast<unsigned char>(c))) times += c;
  const std::string en_dash = "\xE2\x80\x93";
  if (const size_t at = times.find(en_dash); at != std::string::npos)
    times.replace(at, en_dash.size(), "-");
  const size_t dash = times.find('-');
  if (dash == std::string::npos) refuse(text, "expected start-end, such as 02:00-06:00");
  WeeklyWindow w;
  w.days = parse_days(text, std::string_view(lower).substr(0, first_digit));
  w.start_minute = parse_time(text, std::string_view(times).substr(0, dash), false);
  w.end_minute = parse_time(text, std::string_view(times).substr(dash + 1), true);
  w.time_zone = std::move(time_zone);
  return w;
}

std::string to_text(const WeeklyWindow& w) {
  check(w);
  std::string days;
  if (w.days.size() == 7) {
    days = "daily";
  } else {
    for (int d : w.days)
      days += (days.empty() ? "" : ",") +
              std::string(kDayNames.at(static_cast<size_t>(d)).substr(0, 3));
  }
  return days + " " + clock_text(w.start_minute) + "-" + clock_text(w.end_minute);
}

void check(const WeeklyWindow& w) {
  if (w.days.empty()) throw Error(ErrorKind::invalid_input, "training window has no days");
  for (int d : w.days)
    if (d < 0 || d > 6)
      throw Error(ErrorKind::invalid_input,
                  "training window day " + std::to_string(d) + " is not 0 (Sunday) to 6");
  if (w.start_minute < 0 || w.start_minute >= 24 * 60 || w.end_minute < 0 || w.end_minute > 24 * 60)
    throw Error(ErrorKind::invalid_input, "training window times are not minutes of a day");
}

std::optional<Window> window_at(const WeeklyWindow& w, const TimeZone& zone, sys_seconds now) {
  check(w);
  // An occurrence lasts at most a day (plus an hour on a change day), so one that holds now
  // started on now's local date or one of the two before; the latest start wins.
  const local_days today = floor<days>(zone.to_local(now));
  for (int back = 0; back <= 2; ++back) {
    const local_days day = today - days{back};
    if (!starts_on(w, day)) continue;
    const Window o = occurrence(w, zone, day);
    if (o.start <= now && now < o.end) return o;
  }
  return std::nullopt;
}

Window next_window(const WeeklyWindow& w, const TimeZone& zone, sys_seconds after) {
  check(w);
  const local_days today = floor<days>(zone.to_local(after));
  // Starts grow with the date, and every week has at least one start day.
  for (int ahead = -1; ahead <= 8; ++ahead) {
    const local_days day = today + days{ahead};
    if (!starts_on(w, day)) continue;
    const Window o = occurrence(w, zone, day);
    if (o.start > after) return o;
  }
  throw Error(ErrorKind::internal, "no training window within the next week of " + to_text(w));
}

std::optional<Window> due(const WeeklyWindow& w, const TimeZone& zone,
                          std::optional<sys_seconds> last_run_window_start, sys_seconds now) {
  const auto current = window_at(w, zone, now);
  if (!current) return std::nullopt;
  if (last_run_window_start && current->start <= *last_run_window_start) return std::nullopt;
  return current;
}

}  // namespace hearth::loop
