// TimeZone against the system's zone files: known changes of 2026, a date past the files' last
// transition (the footer rule), half-hour offsets, gaps and folds, and the names it refuses.
#include <gtest/gtest.h>

#include "core/time_zone.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using namespace std::chrono;

sys_seconds utc(int y, unsigned m, unsigned d, int h, int min = 0, int s = 0) {
  return sys_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min} + seconds{s};
}
local_seconds wall(int y, unsigned m, unsigned d, int h, int min = 0) {
  return local_days{year{y} / month{m} / day{d}} + hours{h} + minutes{min};
}
constexpr seconds hm(int h, int min = 0) {
  return hours{h} + minutes{min};
}

TEST(TimeZone, BerlinChanges2026) {
  const TimeZone z = TimeZone::load("Europe/Berlin");
  EXPECT_EQ(z.name(), "Europe/Berlin");
  EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 0, 59, 59)), hm(1));
  EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 1)), hm(2));
  EXPECT_EQ(z.offset_at(utc(2026, 10, 25, 0, 59, 59)), hm(2));
  EXPECT_EQ(z.offset_at(utc(2026, 10, 25, 1)), hm(1));
  EXPECT_EQ(z.to_local(utc(2026, 7, 1, 12)), wall(2026, 7, 1, 14));
  EXPECT_EQ(z.to_local(utc(2026, 12, 31, 23, 30)), wall(2027, 1, 1, 0, 30));
}

TEST(TimeZone, NewYorkChanges2026) {
  const TimeZone z = TimeZone::load("America/New_York");
  EXPECT_EQ(z.offset_at(utc(2026, 3, 8, 6, 59, 59)), -hm(5));
  EXPECT_EQ(z.offset_at(utc(2026, 3, 8, 7)), -hm(4));
  EXPECT_EQ(z.offset_at(utc(2026, 11, 1, 5, 59, 59)), -hm(4));
  EXPECT_EQ(z.offset_at(utc(2026, 11, 1, 6)), -hm(5));
  EXPECT_EQ(z.to_local(utc(2026, 1, 1, 3)), wall(2025, 12, 31, 22));
}

TEST(TimeZone, HalfHourOffsets) {
  const TimeZone kolkata = TimeZone::load("Asia/Kolkata");
  EXPECT_EQ(kolkata.offset_at(utc(2026, 1, 15, 0)), hm(5, 30));
  EXPECT_EQ(kolkata.offset_at(utc(2026, 7, 15, 0)), hm(5, 30));
  EXPECT_EQ(kolkata.offset_at(utc(2040, 7, 15, 0)), hm(5, 30));
  EXPECT_EQ(kolkata.to_local(utc(2026, 5, 1, 20)), wall(2026, 5, 2, 1, 30));
  // Lord Howe Island moves its clocks by half an hour: +11 in its summer, +10:30 in winter.
  const TimeZone howe = TimeZone::load("Australia/Lord_Howe");
  EXPECT_EQ(howe.offset_at(utc(2026, 1, 15, 0)), hm(11));
  EXPECT_EQ(howe.offset_at(utc(2026, 4, 4, 14, 59, 59)), hm(11));
  EXPECT_EQ(howe.offset_at(utc(2026, 4, 4, 15)), hm(10, 30));
  EXPECT_EQ(howe.offset_at(utc(2026, 10, 3, 15, 29, 59)), hm(10, 30));
  EXPECT_EQ(howe.offset_at(utc(2026, 10, 3, 15, 30)), hm(11));
  // Its spring gap is half an hour: 02:15 on 2026-10-04 is read with +10:30 (= 02:45 +11).
  EXPECT_EQ(howe.to_utc(wall(2026, 10, 4, 2, 15)), utc(2026, 10, 3, 15, 45));
}

TEST(TimeZone, YearsAfterTheLastListedTransitionFollowTheRule) {
  // Zone files list transitions up to 2037 at most; 2040 comes from the footer's POSIX rule.
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  EXPECT_EQ(berlin.offset_at(utc(2040, 1, 15, 12)), hm(1));
  EXPECT_EQ(berlin.offset_at(utc(2040, 3, 25, 0, 59, 59)), hm(1));  // last Sunday of March
  EXPECT_EQ(berlin.offset_at(utc(2040, 3, 25, 1)), hm(2));
  EXPECT_EQ(berlin.offset_at(utc(2040, 10, 28, 0, 59, 59)), hm(2));  // last Sunday of October
  EXPECT_EQ(berlin.offset_at(utc(2040, 10, 28, 1)), hm(1));
  const TimeZone new_york = TimeZone::load("America/New_York");
  EXPECT_EQ(new_york.offset_at(utc(2040, 3, 11, 6, 59, 59)), -hm(5));  // second Sunday of March
  EXPECT_EQ(new_york.offset_at(utc(2040, 3, 11, 7)), -hm(4));
  const TimeZone howe = TimeZone::load("Australia/Lord_Howe");
  EXPECT_EQ(howe.offset_at(utc(2040, 7, 1, 0)), hm(10, 30));
  EXPECT_EQ(howe.offset_at(utc(2040, 12, 1, 0)), hm(11));
}

TEST(TimeZone, Utc) {
  for (const TimeZone& z : {TimeZone::load("UTC"), TimeZone::utc()}) {
    EXPECT_EQ(z.name(), "UTC");
    for (const sys_seconds t : {utc(1960, 1, 1, 0), utc(2026, 3, 29, 1), utc(2040, 7, 1, 0)}) {
      EXPECT_EQ(z.offset_at(t), seconds{0});
      EXPECT_EQ(z.to_utc(z.to_local(t)), t);
    }
  }
}

TEST(TimeZone, GapsReadWithTheOffsetBeforeTheJump) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST at 01:00 UTC.
  EXPECT_EQ(berlin.to_utc(wall(2026, 3, 29, 1, 59)), utc(2026, 3, 29, 0, 59));
  EXPECT_EQ(berlin.to_utc(wall(2026, 3, 29, 2)), utc(2026, 3, 29, 1));          // the gap's end
  EXPECT_EQ(berlin.to_utc(wall(2026, 3, 29, 2, 30)), utc(2026, 3, 29, 1, 30));  // 03:30 CEST
  EXPECT_EQ(berlin.to_local(berlin.to_utc(wall(2026, 3, 29, 2, 30))), wall(2026, 3, 29, 3, 30));
  EXPECT_EQ(berlin.to_utc(wall(2026, 3, 29, 3)), utc(2026, 3, 29, 1));
  EXPECT_EQ(berlin.to_utc(wall(2026, 3, 29, 6)), utc(2026, 3, 29, 4));
  const TimeZone new_york = TimeZone::load("America/New_York");
  EXPECT_EQ(new_york.to_utc(wall(2026, 3, 8, 2)), utc(2026, 3, 8, 7));
  EXPECT_EQ(new_york.to_utc(wall(2026, 3, 8, 2, 30)), utc(2026, 3, 8, 7, 30));
}

TEST(TimeZone, FoldsTakeTheFirstOccurrence) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET at 01:00 UTC; 02:00-02:59 twice.
  EXPECT_EQ(berlin.to_utc(wall(2026, 10, 25, 1, 59)), utc(2026, 10, 24, 23, 59));
  EXPECT_EQ(berlin.to_utc(wall(2026, 10, 25, 2)), utc(2026, 10, 25, 0));
  EXPECT_EQ(berlin.to_utc(wall(2026, 10, 25, 2, 30)), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(berlin.to_utc(wall(2026, 10, 25, 3)), utc(2026, 10, 25, 2));
  // Both instants of the fold show the same wall time.
  EXPECT_EQ(berlin.to_local(utc(2026, 10, 25, 1, 30)), wall(2026, 10, 25, 2, 30));
  const TimeZone new_york = TimeZone::load("America/New_York");
  EXPECT_EQ(new_york.to_utc(wall(2026, 11, 1, 1, 30)), utc(2026, 11, 1, 5, 30));  // EDT
  EXPECT_EQ(new_york.to_utc(wall(2026, 11, 1, 2)), utc(2026, 11, 1, 7));
}

TEST(TimeZone, WallTimesRoundTripAcrossAYear) {
  const TimeZone berlin = TimeZone::load("Europe/Berlin");
  for (sys_seconds t = utc(2026, 1, 1, 0); t < utc(2027, 1, 1, 0); t += minutes{47}) {
    const local_seconds local = berlin.to_local(t);
    ASSERT_EQ(berlin.to_local(berlin.to_utc(local)), local) << t.time_since_epoch().count();
  }
}

TEST(TimeZone, RefusesNamesThatAreNoZone) {
  using test::expect_error;
  expect_error([] { TimeZone::load(""); }, ErrorKind::invalid_input, {"empty"});
  expect_error([] { TimeZone::load("/etc/passwd"); }, ErrorKind::invalid_input,
               {"/etc/passwd", "absolute"});
  expect_error([] { TimeZone::load("../../etc/passwd"); }, ErrorKind::invalid_input,
               {"../../etc/passwd", ".."});
  expect_error([] { TimeZone::load("Europe/../UTC"); }, ErrorKind::invalid_input,
               {"Europe/../UTC"});
  expect_error([] { TimeZone::load("Europe/Atlantis"); }, ErrorKind::invalid_input,
               {"Europe/Atlantis"});
  expect_error([] { TimeZone::load("Europe"); }, ErrorKind::invalid_input,
               {"'Europe'"});  // a folder
  expect_error([] { TimeZone::load("zone.tab"); }, ErrorKind::invalid_input,
               {"zone.tab", "not a zone file"});
  expect_error([] { TimeZone::load("Europe/Berlin "); }, ErrorKind::invalid_input,
               {"Europe/Berlin "});
}

}  // namespace
}  // namespace hearth
