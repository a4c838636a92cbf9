// parse_duration (keep-alive settings) and base64 (embeddings, API tokens).
#include <gtest/gtest.h>

#include "core/base64.h"
#include "core/duration.h"

namespace hearth {
namespace {

using std::chrono::milliseconds;

TEST(Duration, UnitsSumsAndForever) {
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration(" 90 "), milliseconds(90'000));
  EXPECT_EQ(parse_duration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1'500));
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration("-0"), milliseconds(0));
  EXPECT_EQ(parse_duration("-1"), milliseconds(-1));
  EXPECT_EQ(parse_duration("-10m"), milliseconds(-1));
  for (const char* bad : {"", "-", "soon", "5x", "m", "5 minutes", "nan"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
}

TEST(Duration, BeyondAClocksRangeIsForever) {
  // Added to a nanosecond clock these would overflow (to "unload now" or a date before 1970).
  for (const char* huge : {"1e13h", "1e400", "9223372036854775807", "1e16ms", "877000h"})
    EXPECT_EQ(parse_duration(huge), milliseconds(-1)) << huge;
  EXPECT_EQ(parse_duration("876000h"), milliseconds(3'153'600'000'000));  // 100 years of 365 days
  EXPECT_EQ(parse_duration("1e-400"), milliseconds(0));
  const auto now = std::chrono::system_clock::now();
  EXPECT_GT(now + std::chrono::duration_cast<std::chrono::system_clock::duration>(kLongestDuration), now);
}

TEST(Base64, StandardAndUrlAlphabets) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
}

}  // namespace
}  // namespace hearth
