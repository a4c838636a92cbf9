// The POSIX TZ rule at the end of a TZif file (RFC 8536 §3.3), e.g. "CET-1CEST,M3.5.0,M10.5.0/3":
// standard time CET one hour east of UTC, daylight-saving time CEST (one hour more, by default)
// from the last Sunday of March at 02:00 standard time to the last Sunday of October at 03:00
// daylight-saving time. A zone's file lists transitions up to some year (or none beyond today,
// in "slim" files); this rule gives the offset after the last one. core/time_zone.h uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/tzif.h"

namespace hearth {

struct PosixTzRule {
  // A day of the year on which daylight-saving time starts or ends, and the local time then.
  struct Date {
    enum class Kind { julian_no_leap, zero_based, month_week_day };
    Kind kind = Kind::month_week_day;
    int day = 0;          // Jn: 1..365 never counting February 29; n: 0..365 counting it
    int month = 0;        // Mm.w.d: month 1..12,
    int week = 0;         //   week 1..5 (5: the last such weekday of the month),
    int weekday = 0;      //   weekday 0 = Sunday .. 6
    int32_t time = 7200;  // seconds after local midnight; may be negative or past 24h (TZif v3)
  };
  struct Daylight {
    TzifLocalType type;  // offset and abbreviation of daylight-saving time
    Date start, end;     // start in standard time, end in daylight-saving time
  };
  TzifLocalType standard;
  std::optional<Daylight> daylight;  // nullopt: the zone keeps standard time all year
};

// Parses the rule; throws Error(corrupt_file) naming `source` when it is malformed.
PosixTzRule parse_posix_tz_rule(std::string_view text, const std::string& source);

// The local time type in effect at `utc_seconds` (seconds since 1970, UTC) under the rule.
TzifLocalType local_type_at(const PosixTzRule& rule, int64_t utc_seconds);

}  // namespace hearth
