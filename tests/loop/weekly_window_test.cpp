// Weekly training windows with an injected "now": their text form, where they fall in real time
// (across daylight-saving changes in Berlin and New York), and the rule for when a run is due.
#include <gtest/gtest.h>

#include "core/error.h"
#include "loop/weekly_window.h"
#include "support/test_support.h"

namespace hearth::loop {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min};
}

TEST(WeeklyWindow, ParsesAndWritesText) {
  const WeeklyWindow sunday = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  EXPECT_EQ(sunday.days, std::vector<int>{0});
  EXPECT_EQ(sunday.start_minute, 120);
  EXPECT_EQ(sunday.end_minute, 360);
  EXPECT_EQ(sunday.time_zone, "Europe/Berlin");
  EXPECT_EQ(to_text(sunday), "sun 02:00-06:00");

  const WeeklyWindow two = parse_weekly_window("Wed,SUN 23:30-01:30", "UTC");
  EXPECT_EQ(two.days, (std::vector<int>{0, 3}));
  EXPECT_EQ(two.start_minute, 23 * 60 + 30);
  EXPECT_EQ(two.end_minute, 90);
  EXPECT_EQ(to_text(two), "sun,wed 23:30-01:30");

  const WeeklyWindow daily = parse_weekly_window("  DAILY 2:00 - 5:00 ", "UTC");
  EXPECT_EQ(daily.days, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(to_text(daily), "daily 02:00-05:00");

  const WeeklyWindow late = parse_weekly_window(
      "saturday, mon, sat 22:00\xE2\x80\x93"
      "24:00",
      "UTC");
  EXPECT_EQ(late.days, (std::vector<int>{1, 6}));
  EXPECT_EQ(late.end_minute, 24 * 60);
  EXPECT_EQ(to_text(late), "mon,sat 22:00-24:00");

  for (const WeeklyWindow& w : {sunday, two, daily, late})
    EXPECT_EQ(parse_weekly_window(to_text(w), w.time_zone), w) << to_text(w);
}

TEST(WeeklyWindow, RefusesWhatIsNoWindow) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "no times"},
      {"sunday", "no times"},
      {"02:00-06:00", "no days"},
      {"funday 02:00-06:00", "funday"},
      {"sun,,wed 02:00-06:00", "day is missing"},
      {"sunday 02:00", "start-end"},
      {"sunday 2-6", "'2'"},
      {"sunday 25:00-06:00", "25:00"},
      {"sunday 02:60-06:00", "02:60"},
      {"sunday 24:00-02:00", "24:00"},
      {"sunday 02:00-06:00-07:00", "06:00-07:00"},
      {"sunday 02:00-6:0", "6:0"},
  };
  for (const auto& [text, fragment] : bad)
    test::expect_error([&] { parse_weekly_window(text, "UTC"); }, ErrorKind::invalid_input,
                       {fragment});

  const TimeZone zone = TimeZone::utc();
  WeeklyWindow w{{}, 0, 60, "UTC"};
  test::expect_error([&] { window_at(w, zone, utc(2026, 6, 7, 0)); }, ErrorKind::invalid_input,
                     {"no days"});
  w.days = {7};
  test::expect_error([&] { next_window(w, zone, utc(2026, 6, 7, 0)); }, ErrorKind::invalid_input,
                     {"7"});
  w = {{0}, 1440, 60, "UTC"};
  test::expect_error([&] { check(w); }, ErrorKind::invalid_input, {"minutes"});
}

TEST(WeeklyWindow, ContainsStartButNotEnd) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  // 2026-06-07 is a Sunday in summer time: 02:00-06:00 CEST is 00:00-04:00 UTC.
  const Window expected{utc(2026, 6, 7, 0), utc(2026, 6, 7, 4)};
  EXPECT_EQ(window_at(w, berlin, utc(2026, 6, 7, 0)), expected);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 6, 7, 3, 59)), expected);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 6, 6, 23, 59)), std::nullopt);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 6, 7, 4)), std::nullopt);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 6, 8, 1)), std::nullopt);  // Monday
  EXPECT_EQ(next_window(w, berlin, utc(2026, 6, 6, 12)), expected);
  EXPECT_EQ(next_window(w, berlin, utc(2026, 6, 7, 0)),
            (Window{utc(2026, 6, 14, 0), utc(2026, 6, 14, 4)}));
}

TEST(WeeklyWindow, RunsOncePerWindow) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  // A scheduler that checks every 7 minutes for four weeks and stores the start it ran.
  std::optional<sys_seconds> last;
  std::vector<sys_seconds> runs;
  for (sys_seconds now = utc(2026, 6, 1, 0); now < utc(2026, 6, 29, 0); now += minutes{7}) {
    if (const auto run = due(w, berlin, last, now)) {
      EXPECT_LE(run->start, now);
      EXPECT_LT(now, run->end);
      runs.push_back(run->start);
      last = run->start;
    }
  }
  EXPECT_EQ(runs, (std::vector<sys_seconds>{utc(2026, 6, 7, 0), utc(2026, 6, 14, 0),
                                            utc(2026, 6, 21, 0), utc(2026, 6, 28, 0)}));
}

TEST(WeeklyWindow, RestartInsideTheWindowDoesNotRunItAgain) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  const auto first = due(w, berlin, std::nullopt, utc(2026, 6, 7, 0, 10));
  ASSERT_TRUE(first.has_value());
  // The server restarts at 03:30 local; the stored start says this window already ran.
  EXPECT_EQ(due(w, berlin, first->start, utc(2026, 6, 7, 1, 30)), std::nullopt);
  // A fresh install (nothing stored) inside the window runs it.
  EXPECT_EQ(due(w, berlin, std::nullopt, utc(2026, 6, 7, 1, 30)), first);
}

TEST(WeeklyWindow, MissedWindowRunsAtTheNextOne) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  const sys_seconds ran = utc(2026, 6, 7, 0);  // ran on June 7; the server was down on June 14
  EXPECT_EQ(due(w, berlin, ran, utc(2026, 6, 14, 9)), std::nullopt);  // not late on June 14
  EXPECT_EQ(due(w, berlin, ran, utc(2026, 6, 16, 9)), std::nullopt);
  EXPECT_EQ(next_window(w, berlin, utc(2026, 6, 14, 9)).start, utc(2026, 6, 21, 0));
  EXPECT_EQ(due(w, berlin, ran, utc(2026, 6, 21, 2)),
            (Window{utc(2026, 6, 21, 0), utc(2026, 6, 21, 4)}));
  // A clock set back into an older window never runs it after a newer one ran.
  EXPECT_EQ(due(w, berlin, utc(2026, 6, 21, 0), utc(2026, 6, 14, 1)), std::nullopt);
}

TEST(WeeklyWindow, MidnightCrossingOnSeveralDays) {
  const TimeZone zone = TimeZone::utc();
  const WeeklyWindow w = parse_weekly_window("sun,wed 23:30-01:30", "UTC");
  // Sunday 2026-06-07 23:30 to Monday 01:30; Wednesday 2026-06-10 23:30 to Thursday 01:30.
  const Window sunday{utc(2026, 6, 7, 23, 30), utc(2026, 6, 8, 1, 30)};
  const Window wednesday{utc(2026, 6, 10, 23, 30), utc(2026, 6, 11, 1, 30)};
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 8, 0, 30)), sunday);
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 7, 23, 30)), sunday);
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 8, 1, 30)), std::nullopt);
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 7, 0, 30)), std::nullopt);   // Saturday started none
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 9, 23, 45)), std::nullopt);  // Tuesday starts none
  EXPECT_EQ(window_at(w, zone, utc(2026, 6, 11, 1)), wednesday);
  EXPECT_EQ(next_window(w, zone, utc(2026, 6, 8, 0)), wednesday);
  EXPECT_EQ(next_window(w, zone, wednesday.start).start, utc(2026, 6, 14, 23, 30));

  const WeeklyWindow workdays = parse_weekly_window("mon,wed,fri 02:00-03:00", "UTC");
  std::vector<sys_seconds> starts;
  for (sys_seconds after = utc(2026, 6, 7, 12); starts.size() < 4;)
    starts.push_back(after = next_window(workdays, zone, after).start);
  EXPECT_EQ(starts, (std::vector<sys_seconds>{utc(2026, 6, 8, 2), utc(2026, 6, 10, 2),
                                              utc(2026, 6, 12, 2), utc(2026, 6, 15, 2)}));

  // A whole day ("00:00-00:00") every day: the windows touch and always hold now.
  const WeeklyWindow always = parse_weekly_window("daily 00:00-00:00", "UTC");
  EXPECT_EQ(window_at(always, zone, utc(2026, 6, 9, 17)),
            (Window{utc(2026, 6, 9, 0), utc(2026, 6, 10, 0)}));
  EXPECT_EQ(window_at(always, zone, utc(2026, 6, 10, 0)),
            (Window{utc(2026, 6, 10, 0), utc(2026, 6, 11, 0)}));
}

TEST(WeeklyWindow, BerlinDaylightSavingSundays) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "Europe/Berlin");
  // A winter Sunday: 02:00-06:00 CET is 01:00-05:00 UTC.
  EXPECT_EQ(next_window(w, berlin, utc(2026, 3, 20, 0)),
            (Window{utc(2026, 3, 22, 1), utc(2026, 3, 22, 5)}));
  // 2026-03-29: 02:00 never happens; the window starts at 03:00 CEST (01:00 UTC), three hours.
  const Window spring{utc(2026, 3, 29, 1), utc(2026, 3, 29, 4)};
  EXPECT_EQ(next_window(w, berlin, utc(2026, 3, 27, 0)), spring);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 3, 29, 0, 59)), std::nullopt);
  EXPECT_EQ(due(w, berlin, utc(2026, 3, 22, 1), utc(2026, 3, 29, 1)), spring);
  // 2026-10-25: 02:00-03:00 happens twice; the window starts at the first 02:00 (00:00 UTC) and
  // lasts five hours, and the second 02:30 does not run it again.
  const Window autumn{utc(2026, 10, 25, 0), utc(2026, 10, 25, 5)};
  EXPECT_EQ(window_at(w, berlin, utc(2026, 10, 25, 0)), autumn);
  EXPECT_EQ(window_at(w, berlin, utc(2026, 10, 24, 23, 59)), std::nullopt);
  EXPECT_EQ(due(w, berlin, std::nullopt, utc(2026, 10, 25, 0, 30)), autumn);
  EXPECT_EQ(due(w, berlin, autumn.start, utc(2026, 10, 25, 1, 30)), std::nullopt);
  // The next Sunday is back to winter hours.
  EXPECT_EQ(next_window(w, berlin, autumn.start),
            (Window{utc(2026, 11, 1, 1), utc(2026, 11, 1, 5)}));
}

TEST(WeeklyWindow, NewYorkDaylightSavingSundays) {
  const TimeZone new_york = TimeZone::load("America/New_York");
  const WeeklyWindow w = parse_weekly_window("sunday 02:00-06:00", "America/New_York");
  // 2026-03-08: clocks jump 02:00 EST → 03:00 EDT; the window is 03:00-06:00 EDT.
  EXPECT_EQ(next_window(w, new_york, utc(2026, 3, 7, 0)),
            (Window{utc(2026, 3, 8, 7), utc(2026, 3, 8, 10)}));
  // 2026-11-01: 01:00-02:00 happens twice; a 01:00-03:00 window runs from the first 01:00 (EDT)
  // to 03:00 EST, three hours.
  const WeeklyWindow early = parse_weekly_window("sunday 01:00-03:00", "America/New_York");
  const Window fold{utc(2026, 11, 1, 5), utc(2026, 11, 1, 8)};
  EXPECT_EQ(window_at(early, new_york, utc(2026, 11, 1, 6, 30)), fold);  // the second 01:30
  EXPECT_EQ(due(early, new_york, fold.start, utc(2026, 11, 1, 6, 30)), std::nullopt);
  // A summer Sunday: 02:00-06:00 EDT is 06:00-10:00 UTC.
  EXPECT_EQ(window_at(w, new_york, utc(2026, 6, 7, 6)),
            (Window{utc(2026, 6, 7, 6), utc(2026, 6, 7, 10)}));
}

}  // namespace
}  // namespace hearth::loop
