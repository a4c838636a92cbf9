// IANA time zones ("Europe/Berlin", "America/New_York", "UTC"), read from the system's compiled
// zone files because GCC 12's standard library has no std::chrono time zone database.
//
//   TimeZone berlin = TimeZone::load("Europe/Berlin");
//   std::chrono::local_seconds wall = berlin.to_local(std::chrono::floor<std::chrono::seconds>(
//       std::chrono::system_clock::now()));
//
// Zone files live under /usr/share/zoneinfo (Debian's tzdata package); the TZDIR environment
// variable names another folder (tests use it). A zone answers the UTC offset at any instant:
// from its list of transitions, and after the last one from the POSIX rule at the end of the
// file, so "slim" files and dates decades ahead are both right.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace hearth {

struct TzifData;
struct PosixTzRule;

class TimeZone {
 public:
  // Loads the zone of that IANA name. Throws Error(invalid_input) for a name that is empty,
  // absolute, holds "..", or names no zone file (the message names the zone), and
  // Error(corrupt_file) naming the file when the file is truncated or malformed.
  static TimeZone load(const std::string& name);

  // UTC itself, without reading any file.
  static TimeZone utc();

  const std::string& name() const { return name_; }

  // The offset of local time from UTC at `t` (Berlin in summer: +2h; New York in winter: -5h).
  std::chrono::seconds offset_at(std::chrono::sys_seconds t) const;

  // The wall-clock time at `t`.
  std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const;

  // The instant a wall-clock time names. Where clocks jump forward (a gap: 02:30 on Berlin's
  // spring change day never happens) it is the time read with the offset before the jump, so
  // the instant lies as far after the gap's end as the time lies after its start (02:00 → the
  // gap's end, 03:00 CEST; 02:30 → 03:30 CEST). Where clocks go back (a fold: 02:30 on Berlin's
  // autumn change day happens twice) it is the first of the two.
  std::chrono::sys_seconds to_utc(std::chrono::local_seconds t) const;

 private:
  TimeZone(std::string name, std::shared_ptr<const TzifData> data,
           std::shared_ptr<const PosixTzRule> rule);

  std::string name_;
  std::shared_ptr<const TzifData> data_;     // transitions and local time types (immutable)
  std::shared_ptr<const PosixTzRule> rule_;  // after the last transition; null: no footer
};

}  // namespace hearth
