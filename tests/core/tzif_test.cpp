// TimeZone on zone files written here into a temporary TZDIR: version 1 files, "slim" files that
// hold only a footer rule, rule forms (Jn, n, DST all year), and truncated or malformed files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>

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
int64_t epoch(sys_seconds t) {
  return t.time_since_epoch().count();
}

struct LocalType {
  int32_t offset;
  bool dst;
  std::string abbreviation;
};

void put(std::string& out, int64_t v, int width) {
  for (int i = width - 1; i >= 0; --i)
    out += static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff);
}

// A TZif file as RFC 8536 lays it out: version 1 has one block of 32-bit times; later versions
// repeat the data with 64-bit times and end with "\n<footer>\n".
std::string tzif(int version, const std::vector<int64_t>& transitions,
                 const std::vector<int>& type_of, const std::vector<LocalType>& types,
                 const std::string& footer) {
  std::string chars;
  std::vector<int> at;
  for (const auto& t : types) {
    at.push_back(static_cast<int>(chars.size()));
    chars += t.abbreviation + '\0';
  }
  auto block = [&](int width, char version_byte) {
    std::string b = "TZif";
    b += version_byte;
    b += std::string(15, '\0');
    for (int64_t count : {0, 0, 0, static_cast<int>(transitions.size()),
                          static_cast<int>(types.size()), static_cast<int>(chars.size())})
      put(b, count, 4);
    for (int64_t t : transitions) put(b, t, width);
    for (int i : type_of) put(b, i, 1);
    for (size_t i = 0; i < types.size(); ++i) {
      put(b, types[i].offset, 4);
      put(b, types[i].dst ? 1 : 0, 1);
      put(b, at[i], 1);
    }
    return b + chars;
  };
  if (version == 1) return block(4, '\0');
  const char v = static_cast<char>('0' + version);
  return block(4, v) + block(8, v) + "\n" + footer + "\n";
}

// A temporary TZDIR for the test's lifetime; the previous value comes back afterwards.
class ZoneDir {
 public:
  ZoneDir() {
    if (const char* old = std::getenv("TZDIR")) old_ = old;
    setenv("TZDIR", dir_.path().c_str(), 1);
  }
  ~ZoneDir() {
    if (old_)
      setenv("TZDIR", old_->c_str(), 1);
    else
      unsetenv("TZDIR");
  }
  std::string add(const std::string& name, const std::string& bytes) {
    const auto path = dir_.path() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
    return path.string();
  }

 private:
  test::TempDir dir_;
  std::optional<std::string> old_;
};

const std::vector<LocalType> kCentralEurope = {{3600, false, "CET"}, {7200, true, "CEST"}};
const std::string kCentralEuropeRule = "CET-1CEST,M3.5.0,M10.5.0/3";

TEST(Tzif, VersionOneFileWithoutFooter) {
  ZoneDir dir;
  dir.add("Test/Old", tzif(1, {epoch(utc(2026, 3, 29, 1)), epoch(utc(2026, 10, 25, 1))}, {1, 0},
                           kCentralEurope, ""));
  const TimeZone z = TimeZone::load("Test/Old");
  EXPECT_EQ(z.name(), "Test/Old");
  EXPECT_EQ(z.offset_at(utc(2026, 1, 1, 0)), hours{1});  // before the first: the first type
  EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 0, 59, 59)), hours{1});
  EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 1)), hours{2});
  EXPECT_EQ(z.offset_at(utc(2026, 10, 25, 1)), hours{1});
  EXPECT_EQ(z.offset_at(utc(2027, 7, 1, 0)), hours{1});  // after the last, with no rule: it stays
}

TEST(Tzif, SlimFileFollowsItsFooterRule) {
  ZoneDir dir;
  for (int version : {2, 3}) {
    const std::string name = "Test/Slim" + std::to_string(version);
    dir.add(name, tzif(version, {}, {}, {{3600, false, "CET"}}, kCentralEuropeRule));
    const TimeZone z = TimeZone::load(name);
    EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 0, 59, 59)), hours{1});
    EXPECT_EQ(z.offset_at(utc(2026, 3, 29, 1)), hours{2});
    EXPECT_EQ(z.offset_at(utc(2026, 10, 25, 0, 59, 59)), hours{2});
    EXPECT_EQ(z.offset_at(utc(2026, 10, 25, 1)), hours{1});
    EXPECT_EQ(z.to_utc(wall(2026, 3, 29, 2)), utc(2026, 3, 29, 1));
    EXPECT_EQ(z.to_utc(wall(2026, 10, 25, 2, 30)), utc(2026, 10, 25, 0, 30));
  }
}

TEST(Tzif, SixtyFourBitBlockAndFooterAfterTheLastTransition) {
  ZoneDir dir;
  // One transition in 1980, then the rule (a version 2 file's first block is ignored).
  dir.add("Test/Fat",
          tzif(2, {epoch(utc(1980, 4, 6, 1))}, {0}, kCentralEurope, kCentralEuropeRule));
  const TimeZone z = TimeZone::load("Test/Fat");
  EXPECT_EQ(z.offset_at(utc(2100, 7, 1, 0)), hours{2});
  EXPECT_EQ(z.offset_at(utc(2100, 12, 1, 0)), hours{1});
}

TEST(Tzif, RuleDateForms) {
  ZoneDir dir;
  // Jn never counts February 29: J60 is March 1 in every year. n counts it: 59 is February 29
  // in a leap year. DST all year ("0/0,J365/25") switches off and on at the same instant.
  dir.add("Test/Julian", tzif(2, {}, {}, {{0, false, "AAA"}}, "AAA0BBB,J60,J300"));
  dir.add("Test/ZeroBased", tzif(2, {}, {}, {{0, false, "AAA"}}, "AAA0BBB-2,59/0,300"));
  dir.add("Test/AllYear", tzif(3, {}, {}, {{-18000, false, "EST"}}, "EST5EDT,0/0,J365/25"));
  const TimeZone julian = TimeZone::load("Test/Julian");
  EXPECT_EQ(julian.offset_at(utc(2028, 3, 1, 1, 59, 59)), seconds{0});
  EXPECT_EQ(julian.offset_at(utc(2028, 3, 1, 2)), hours{1});
  const TimeZone zero_based = TimeZone::load("Test/ZeroBased");
  EXPECT_EQ(zero_based.offset_at(utc(2028, 2, 28, 23, 59, 59)), seconds{0});
  EXPECT_EQ(zero_based.offset_at(utc(2028, 2, 29, 0)), hours{2});
  EXPECT_EQ(zero_based.offset_at(utc(2027, 3, 1, 0)), hours{2});  // day 59 of 2027 is March 1
  EXPECT_EQ(zero_based.offset_at(utc(2027, 2, 28, 23)), seconds{0});
  const TimeZone all_year = TimeZone::load("Test/AllYear");
  for (const sys_seconds t :
       {utc(2030, 1, 1, 5), utc(2030, 1, 1, 4, 59), utc(2030, 7, 1, 0), utc(2030, 12, 31, 23)})
    EXPECT_EQ(all_year.offset_at(t), -hours{4}) << epoch(t);
}

TEST(Tzif, TruncatedCopiesAreCorruptAndNamed) {
  ZoneDir dir;
  const std::string berlin = test::read_file("/usr/share/zoneinfo/Europe/Berlin");
  ASSERT_GT(berlin.size(), 200u);
  for (size_t length : {size_t{5}, size_t{43}, size_t{44}, size_t{100}, berlin.size() / 2,
                        berlin.size() - 20, berlin.size() - 1}) {
    const std::string path = dir.add("Cut/Berlin", berlin.substr(0, length));
    test::expect_error([] { TimeZone::load("Cut/Berlin"); }, ErrorKind::corrupt_file,
                       {path, "truncated"});
  }
}

TEST(Tzif, MalformedFilesAreCorruptAndNamed) {
  ZoneDir dir;
  std::string path = dir.add("Bad/Order", tzif(2, {100, 50}, {0, 0}, kCentralEurope, ""));
  test::expect_error([] { TimeZone::load("Bad/Order"); }, ErrorKind::corrupt_file, {path, "order"});
  path = dir.add("Bad/Type", tzif(2, {100}, {7}, kCentralEurope, ""));
  test::expect_error([] { TimeZone::load("Bad/Type"); }, ErrorKind::corrupt_file, {path, "type"});
  path = dir.add("Bad/Rule", tzif(2, {}, {}, kCentralEurope, "CET-1CEST,M13.5.0,M10.5.0/3"));
  test::expect_error([] { TimeZone::load("Bad/Rule"); }, ErrorKind::corrupt_file,
                     {path, "M13.5.0"});
  path =
      dir.add("Bad/RuleTail", tzif(2, {}, {}, kCentralEurope, "CET-1CEST,M3.5.0,M10.5.0/3 junk"));
  test::expect_error([] { TimeZone::load("Bad/RuleTail"); }, ErrorKind::corrupt_file,
                     {path, "junk"});
  // A header that claims two billion transitions in a tiny file is refused as truncated.
  std::string huge = tzif(2, {}, {}, kCentralEurope, "");
  huge.replace(32, 4, "\x7f\xff\xff\xff");  // the first header's transition count
  path = dir.add("Bad/Huge", huge);
  test::expect_error([] { TimeZone::load("Bad/Huge"); }, ErrorKind::corrupt_file,
                     {path, "truncated"});
  dir.add("Bad/Text", "this is not a zone file\n");
  test::expect_error([] { TimeZone::load("Bad/Text"); }, ErrorKind::invalid_input,
                     {"Bad/Text", "not a zone file"});
}

}  // namespace
}  // namespace hearth
