// The contents of a TZif file (RFC 8536), the compiled form of one IANA time zone that the
// system keeps under /usr/share/zoneinfo. core/time_zone.h is the API; this is its reader.
//
// Shape of a file: a 44-byte header ("TZif", version, six big-endian counts) and a data block
// with 32-bit times; from version 2 on a second header and data block with 64-bit times, then a
// footer "\n<POSIX TZ rule>\n" for instants after the last transition. Version 1 files have only
// the first block and no footer. hearth reads the 64-bit block when there is one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth {

// One local time type: the offset from UTC and whether it is daylight-saving time.
struct TzifLocalType {
  int32_t utc_offset = 0;  // seconds east of UTC (Berlin in winter: 3600)
  bool is_dst = false;
  std::string abbreviation;  // "CET", "CEST", "+0530"
};

struct TzifData {
  int version = 1;                        // 1 (no footer), 2, 3 or 4
  std::vector<int64_t> transitions;       // UTC seconds since 1970, strictly ascending
  std::vector<uint8_t> transition_types;  // index into types, one per transition
  std::vector<TzifLocalType> types;  // at least one; types[0] applies before the first transition
  std::string footer;                // the POSIX TZ rule, empty when there is none
};

// Whether the bytes begin as a TZif file does ("TZif"): tells a zone file from the other files
// under zoneinfo (zone.tab, tzdata.zi).
bool looks_like_tzif(std::string_view bytes);

// Parses a whole TZif file. Throws Error(corrupt_file) naming `source` (the file's path) when the
// bytes are truncated or contradict the format, and Error(unsupported) for files that count leap
// seconds (the "right/" zones): hearth's clock is POSIX time, which has none.
TzifData parse_tzif(std::string_view bytes, const std::string& source);

}  // namespace hearth
