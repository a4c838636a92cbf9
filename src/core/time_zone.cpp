#include "core/time_zone.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/error.h"
#include "core/posix_tz_rule.h"
#include "core/tzif.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

// The largest zone file hearth reads; real ones are a few KiB.
constexpr std::uintmax_t kMaxZoneFileBytes = 1 << 20;

fs::path zoneinfo_dir() {
  const char* dir = std::getenv("TZDIR");
  return (dir && *dir) ? fs::path(dir) : fs::path("/usr/share/zoneinfo");
}

// IANA names are ASCII letters, digits and "/_+-." ("Etc/GMT+5", "America/Port-au-Prince").
void check_name(const std::string& name) {
  auto refuse = [&](const std::string& why) {
    throw Error(ErrorKind::invalid_input, "time zone '" + name + "' " + why +
                                              " (give an IANA name such as Europe/Berlin or UTC)");
  };
  if (name.empty())
    throw Error(ErrorKind::invalid_input,
                "time zone name is empty (give an IANA name such as Europe/Berlin or UTC)");
  if (name.front() == '/') refuse("is an absolute path, not a zone name");
  if (name.find("..") != std::string::npos) refuse("must not contain '..'");
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '+' &&
        c != '-' && c != '.')
      refuse("holds a character no zone name has");
}

std::string read_zone_file(const std::string& name, const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || fs::file_size(path, ec) > kMaxZoneFileBytes)
    throw Error(ErrorKind::invalid_input,
                "unknown time zone '" + name + "': no zone file " + path.string());
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof())
    throw Error(ErrorKind::io, "cannot read time zone file " + path.string());
  if (!looks_like_tzif(bytes))
    throw Error(ErrorKind::invalid_input,
                "unknown time zone '" + name + "': " + path.string() + " is not a zone file");
  return bytes;
}

}  // namespace

TimeZone::TimeZone(std::string name, std::shared_ptr<const TzifData> data,
                   std::shared_ptr<const PosixTzRule> rule)
    : name_(std::move(name)), data_(std::move(data)), rule_(std::move(rule)) {}

TimeZone TimeZone::load(const std::string& name) {
  check_name(name);
  const fs::path path = zoneinfo_dir() / name;
  const std::string bytes = read_zone_file(name, path);
  auto data = std::make_shared<TzifData>(parse_tzif(bytes, path.string()));
  std::shared_ptr<const PosixTzRule> rule;
  if (!data->footer.empty())
    rule = std::make_shared<PosixTzRule>(parse_posix_tz_rule(data->footer, path.string()));
  return TimeZone(name, std::move(data), std::move(rule));
}

TimeZone TimeZone::utc() {
  auto data = std::make_shared<TzifData>();
  data->types.push_back({0, false, "UTC"});
  return TimeZone("UTC", std::move(data), nullptr);
}

seconds TimeZone::offset_at(sys_seconds t) const {
  const int64_t s = t.time_since_epoch().count();
  const auto& at = data_->transitions;
  // After the last transition the footer's rule holds; without one, the last type stays.
  if (at.empty() || s >= at.back()) {
    if (rule_) return seconds{local_type_at(*rule_, s).utc_offset};
    const size_t type = at.empty() ? 0 : data_->transition_types.back();
    return seconds{data_->types[type].utc_offset};
  }
  // Before the first transition the first local time type holds (RFC 8536 §3.2).
  if (s < at.front()) return seconds{data_->types[0].utc_offset};
  const size_t i = static_cast<size_t>(std::upper_bound(at.begin(), at.end(), s) - at.begin()) - 1;
  return seconds{data_->types[data_->transition_types[i]].utc_offset};
}

local_seconds TimeZone::to_local(sys_seconds t) const {
  return local_seconds{t.time_since_epoch() + offset_at(t)};
}

sys_seconds TimeZone::to_utc(local_seconds t) const {
  // The offsets a day either side of the wall time are the ones before and after any change
  // near it (zones change at most once within two days). An offset fits when reading the wall
  // time with it gives an instant that has that offset.
  const sys_seconds as_utc{t.time_since_epoch()};
  const seconds before = offset_at(as_utc - std::chrono::days{1});
  const seconds after = offset_at(as_utc + std::chrono::days{1});
  const sys_seconds with_before = as_utc - before;
  const sys_seconds with_after = as_utc - after;
  const bool before_fits = offset_at(with_before) == before;
  const bool after_fits = offset_at(with_after) == after;
  if (before_fits && after_fits) return std::min(with_before, with_after);  // a fold: the first
  if (after_fits) return with_after;
  // Fits with the offset before, or a gap: read with the offset before the jump.
  return with_before;
}

}  // namespace hearth
