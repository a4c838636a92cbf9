// format_json (the written form of --json output and training files) and parse_json.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <limits>

#include "core/json_text.h"

namespace hearth {
namespace {

namespace json = boost::json;

std::string number(double d) { return format_json(json::value(d)); }

TEST(FormatJson, OneLineWithKeysInByteOrder) {
  const json::object o{{"b", 1}, {"a", json::array{true, nullptr, "x"}}, {"B", json::object{}}};
  EXPECT_EQ(format_json(o), R"({"B":{},"a":[true,null,"x"],"b":1})");
  EXPECT_EQ(format_json(json::array{}), "[]");
  EXPECT_EQ(format_json(json::object{}), "{}");
}

TEST(FormatJson, IndentedOneMemberPerLine) {
  const json::object o{{"name", "hearth"}, {"gpus", json::array{json::object{{"index", 0}}}},
                       {"empty", json::array{}}, {"none", json::object{}}};
  EXPECT_EQ(format_json(o, 2), R"({
  "empty": [],
  "gpus": [
    {
      "index": 0
    }
  ],
  "name": "hearth",
  "none": {}
})");
  EXPECT_EQ(format_json(json::array{1, 2}, 0), "[\n1,\n2\n]");
  EXPECT_EQ(format_json(json::value("x"), 2), "\"x\"");
}

TEST(FormatJson, IntegersStayIntegers) {
  EXPECT_EQ(format_json(json::value(std::int64_t{-42})), "-42");
  EXPECT_EQ(format_json(json::value(std::numeric_limits<std::int64_t>::min())),
            "-9223372036854775808");
  EXPECT_EQ(format_json(json::value(std::numeric_limits<std::uint64_t>::max())),
            "18446744073709551615");
}

TEST(FormatJson, DoublesShortestWithAPoint) {
  EXPECT_EQ(number(0.7), "0.7");
  EXPECT_EQ(number(100.0), "100.0");
  EXPECT_EQ(number(0.0), "0.0");
  EXPECT_EQ(number(-0.0), "-0.0");
  EXPECT_EQ(number(-1.25), "-1.25");
  EXPECT_EQ(number(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(number(0.0001), "0.0001");
  EXPECT_EQ(number(0.00001), "1e-05");
  EXPECT_EQ(number(123456789012345.0), "123456789012345.0");
  EXPECT_EQ(number(1e15), "1e+15");
  EXPECT_EQ(number(1.5e300), "1.5e+300");
  EXPECT_EQ(number(5e-324), "5e-324");
  EXPECT_EQ(number(1234.5678), "1234.5678");
  EXPECT_EQ(number(std::nan("")), "null");
  EXPECT_EQ(number(-std::numeric_limits<double>::infinity()), "null");
}

TEST(FormatJson, StringsEscapeOnlyWhatJsonNeeds) {
  EXPECT_EQ(format_json(json::value("a\"b\\c/d\n\t\r\b\f\x01\x1f\x7f")),
            R"("a\"b\\c/d\n\t\r\b\f\u0001\u001f)"
            "\x7f\"");
  EXPECT_EQ(format_json(json::value("naïve ✓ 😀")), "\"naïve ✓ 😀\"");
  EXPECT_EQ(format_json(json::object{{"k\n", 1}}), R"({"k\n":1})");
}

TEST(FormatJson, InvalidUtf8BecomesReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  auto text = [](std::string_view s) { return format_json(json::value(json::string(s))); };
  EXPECT_EQ(text("a\xff" "b"), "\"a" + fffd + "b\"");          // not a lead byte
  EXPECT_EQ(text("\x80\x80"), "\"" + fffd + fffd + "\"");       // lone continuation bytes
  EXPECT_EQ(text("\xe2\x9c" "x"), "\"" + fffd + "x\"");         // cut short: x is kept
  EXPECT_EQ(text("\xe2\x9c"), "\"" + fffd + "\"");              // cut short at the end
  EXPECT_EQ(text("\xc0\xaf"), "\"" + fffd + fffd + "\"");       // overlong '/'
  EXPECT_EQ(text("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\"");  // a surrogate
  EXPECT_EQ(text("\xf4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  EXPECT_EQ(text("\xc3\xa9\xc3"), "\"\xc3\xa9" + fffd + "\"");
}

TEST(ParseJson, ValuesAndTheirKinds) {
  auto v = parse_json(R"( {"n": 3, "big": 18446744073709551615, "f": 2.0, "s": "x"} )");
  ASSERT_TRUE(v.has_value());
  EXPECT_TRUE(v->at("n").is_int64());
  EXPECT_TRUE(v->at("big").is_uint64());
  EXPECT_TRUE(v->at("f").is_double());
  EXPECT_EQ(format_json(*v), R"({"big":18446744073709551615,"f":2.0,"n":3,"s":"x"})");
}

TEST(ParseJson, SkipsAByteOrderMark) {
  auto v = parse_json("\xEF\xBB\xBF[1]");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, json::value(json::array{1}));
}

TEST(ParseJson, ErrorsSayWhere) {
  std::string error;
  EXPECT_FALSE(parse_json("{\n  \"a\": 1,\n}", &error).has_value());
  EXPECT_EQ(error, "syntax error at line 3, column 1");
  EXPECT_FALSE(parse_json("[1] x", &error).has_value());
  EXPECT_EQ(error, "extra data at line 1, column 5");
  EXPECT_FALSE(parse_json("[1, 2", &error).has_value());
  EXPECT_EQ(error, "incomplete JSON at line 1, column 6");
  EXPECT_FALSE(parse_json("", &error).has_value());
  EXPECT_FALSE(parse_json("\"\xff\"").has_value());  // invalid UTF-8 is not JSON
}

TEST(ParseJson, DeepButNotEndlessNesting) {
  EXPECT_TRUE(parse_json(std::string(500, '[') + std::string(500, ']')).has_value());
  EXPECT_FALSE(parse_json(std::string(1001, '[') + std::string(1001, ']')).has_value());
}

}  // namespace
}  // namespace hearth
