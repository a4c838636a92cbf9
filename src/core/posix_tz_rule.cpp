#include "core/posix_tz_rule.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hearth {
namespace {

using namespace std::chrono;

// A cursor over the rule's text that names the rule and the file in every error.
class Parser {
 public:
  Parser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  bool done() const { return pos_ == text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "'");
  }

  // A zone abbreviation: three or more letters, or anything of [A-Za-z0-9+-] between < and >.
  std::string abbreviation() {
    const size_t begin = pos_;
    if (accept('<')) {
      while (!done() &&
             (std::isalnum(static_cast<unsigned char>(peek())) || peek() == '+' || peek() == '-'))
        ++pos_;
      const std::string name(text_.substr(begin + 1, pos_ - begin - 1));
      expect('>');
      if (name.size() < 3) fail("abbreviation shorter than three characters");
      return name;
    }
    while (!done() && std::isalpha(static_cast<unsigned char>(peek()))) ++pos_;
    if (pos_ - begin < 3) fail("abbreviation shorter than three letters");
    return std::string(text_.substr(begin, pos_ - begin));
  }

  int number(int max) {
    if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a number");
    int n = 0;
    while (std::isdigit(static_cast<unsigned char>(peek()))) {
      n = n * 10 + (text_[pos_++] - '0');
      if (n > max) fail("number out of range");
    }
    return n;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to max_hours (24 for offsets, 167 for rule times).
  int32_t hms(int max_hours) {
    int sign = 1;
    if (accept('-'))
      sign = -1;
    else
      accept('+');
    int32_t s = number(max_hours) * 3600;
    if (accept(':')) {
      s += number(59) * 60;
      if (accept(':')) s += number(59);
    }
    return sign * s;
  }

  PosixTzRule::Date date() {
    PosixTzRule::Date d;
    if (accept('J')) {
      d.kind = PosixTzRule::Date::Kind::julian_no_leap;
      d.day = number(365);
      if (d.day < 1) fail("Jn day must be 1..365");
    } else if (accept('M')) {
      d.kind = PosixTzRule::Date::Kind::month_week_day;
      d.month = number(12);
      expect('.');
      d.week = number(5);
      expect('.');
      d.weekday = number(6);
      if (d.month < 1 || d.week < 1) fail("Mm.w.d out of range");
    } else {
      d.kind = PosixTzRule::Date::Kind::zero_based;
      d.day = number(365);
    }
    if (accept('/')) d.time = hms(167);
    return d;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::corrupt_file,
                source_ + ": time zone rule '" + std::string(text_) + "' is malformed: " + why);
  }

 private:
  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

// The day a rule date falls on in `y`, as days since 1970.
sys_days day_in_year(const PosixTzRule::Date& d, year y) {
  const sys_days jan1 = sys_days{y / January / 1};
  switch (d.kind) {
    case PosixTzRule::Date::Kind::zero_based:
      return jan1 + days{d.day};
    case PosixTzRule::Date::Kind::julian_no_leap: {
      // Day 60 is March 1 in every year: February 29 is never counted.
      const int leap_shift = (y.is_leap() && d.day >= 60) ? 1 : 0;
      return jan1 + days{d.day - 1 + leap_shift};
    }
    case PosixTzRule::Date::Kind::month_week_day: {
      const month m{static_cast<unsigned>(d.month)};
      const sys_days first = sys_days{y / m / 1};
      const int first_weekday = static_cast<int>(weekday{first}.c_encoding());
      sys_days day = first + days{(d.weekday - first_weekday + 7) % 7 + 7 * (d.week - 1)};
      const sys_days next_month = sys_days{(y / m / 1) + months{1}};
      while (day >= next_month) day -= days{7};  // week 5 means the last such weekday
      return day;
    }
  }
  return jan1;
}

}  // namespace

PosixTzRule parse_posix_tz_rule(std::string_view text, const std::string& source) {
  Parser p(text, source);
  PosixTzRule rule;
  rule.standard.abbreviation = p.abbreviation();
  rule.standard.utc_offset = -p.hms(24);  // POSIX counts hours west of UTC
  if (p.done()) return rule;
  PosixTzRule::Daylight dst;
  dst.type.is_dst = true;
  dst.type.abbreviation = p.abbreviation();
  dst.type.utc_offset = rule.standard.utc_offset + 3600;
  if (!p.done() && p.peek() != ',') dst.type.utc_offset = -p.hms(24);
  if (p.accept(',')) {
    dst.start = p.date();
    p.expect(',');
    dst.end = p.date();
  } else {
    // No dates: the rule POSIX leaves to the implementation; tzcode uses the US rule.
    dst.start = {PosixTzRule::Date::Kind::month_week_day, 0, 3, 2, 0, 7200};
    dst.end = {PosixTzRule::Date::Kind::month_week_day, 0, 11, 1, 0, 7200};
  }
  if (!p.done()) p.fail("unexpected text after the rule");
  rule.daylight = std::move(dst);
  return rule;
}

TzifLocalType local_type_at(const PosixTzRule& rule, int64_t utc_seconds) {
  if (!rule.daylight) return rule.standard;
  const auto& dst = *rule.daylight;
  const int64_t local = utc_seconds + rule.standard.utc_offset;
  const year y = year_month_day{floor<days>(sys_seconds{seconds{local}})}.year();
  // The switches of the year before, this year and the next, as (UTC instant, starts DST).
  // An end and a start at the same instant (DST all year: "EST5EDT,0/0,J365/25") sort the end
  // first, so daylight-saving time stays in effect.
  std::vector<std::pair<int64_t, bool>> switches;
  for (const year each : {y - years{1}, y, y + years{1}}) {
    const int64_t start = sys_seconds{day_in_year(dst.start, each)}.time_since_epoch().count() +
                          dst.start.time - rule.standard.utc_offset;
    const int64_t end = sys_seconds{day_in_year(dst.end, each)}.time_since_epoch().count() +
                        dst.end.time - dst.type.utc_offset;
    switches.emplace_back(start, true);
    switches.emplace_back(end, false);
  }
  std::sort(switches.begin(), switches.end());
  bool in_dst = false;
  for (const auto& [at, starts] : switches)
    if (at <= utc_seconds) in_dst = starts;
  return in_dst ? dst.type : rule.standard;
}

}  // namespace hearth
