// Timestamps as ISO-8601 UTC text with milliseconds: "2024-05-01T12:34:56.789Z" (see db.h).
#include <charconv>
#include <cstdio>

#include "core/error.h"
#include "db/db.h"

namespace hearth::db {
namespace {

// Reads `width` decimal digits at text[pos]; false when any is not a digit.
bool digits(std::string_view text, std::size_t pos, std::size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (std::size_t i = pos; i < pos + width; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  auto [end, ec] = std::from_chars(text.data() + pos, text.data() + pos + width, out);
  return ec == std::errc() && end == text.data() + pos + width;
}

}  // namespace

Timestamp now() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::string format_time(Timestamp t) {
  using namespace std::chrono;
  sys_days day = floor<days>(t);
  year_month_day ymd(day);
  hh_mm_ss<milliseconds> hms(t - day);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

Timestamp parse_time(std::string_view text) {
  using namespace std::chrono;
  // Positions in "YYYY-MM-DDTHH:MM:SS.mmmZ".
  int y, mo, d, h, mi, s, ms;
  bool shape = text.size() == 24 && text[4] == '-' && text[7] == '-' && text[10] == 'T' &&
               text[13] == ':' && text[16] == ':' && text[19] == '.' && text[23] == 'Z';
  if (!shape || !digits(text, 0, 4, y) || !digits(text, 5, 2, mo) || !digits(text, 8, 2, d) ||
      !digits(text, 11, 2, h) || !digits(text, 14, 2, mi) || !digits(text, 17, 2, s) ||
      !digits(text, 20, 3, ms))
    throw Error(ErrorKind::corrupt_file, "'" + std::string(text) +
                                             "' is not a time of the form "
                                             "YYYY-MM-DDTHH:MM:SS.mmmZ");
  year_month_day ymd{year(y), month(unsigned(mo)), day(unsigned(d))};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59)
    throw Error(ErrorKind::corrupt_file,
                "'" + std::string(text) + "' is not a valid date and time");
  return sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms);
}

}  // namespace hearth::db
