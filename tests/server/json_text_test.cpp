// json_text: the server's JSON with numbers as people write them (Boost.JSON's own serializer
// writes 100.0 as 1E2 and 0.7 as 7E-1).
#include <gtest/gtest.h>

#include <limits>

#include "core/paths.h"
#include "server/json_util.h"
#include "support/test_support.h"

namespace {

using hearth::server::json_text;
using hearth::server::number_text;
namespace json = boost::json;

TEST(JsonText, DoublesArePlainAndReadBackExactly) {
  EXPECT_EQ(json_text(json::value(100.0)), "100");
  EXPECT_EQ(json_text(json::value(0.7)), "0.7");
  EXPECT_EQ(json_text(json::value(-2.5)), "-2.5");
  EXPECT_EQ(json_text(json::value(0.0)), "0");
  EXPECT_EQ(json_text(json::value(1e-7)), "1e-07");
  EXPECT_EQ(json_text(json::value(1e21)), "1e+21");
  for (double d : {0.1, 1.0 / 3, 123456.789, 0.699999988079071, 1e300, -4.9e-324}) {
    const std::string text = json_text(json::value(d));
    EXPECT_EQ(json::parse(text).as_double(), d) << text;
  }
  EXPECT_EQ(json_text(json::value(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(json_text(json::value(std::numeric_limits<double>::quiet_NaN())), "null");
}

TEST(JsonText, EverythingElseIsWhatBoostWrites) {
  const json::value v = json::parse(
      R"({"a":[1,-2,18446744073709551615,true,false,null],"s":"q\"\n\u0001é","o":{},"e":[],"k\"":{"x":0.5}})");
  EXPECT_EQ(json_text(v),
            R"({"a":[1,-2,18446744073709551615,true,false,null],"s":"q\"\n\u0001é","o":{},"e":[],"k\"":{"x":0.5}})");
  EXPECT_EQ(json::parse(json_text(v)), v);
}

TEST(JsonText, NumbersInMessages) {
  EXPECT_EQ(number_text(2), "2");
  EXPECT_EQ(number_text(0.7), "0.7");
  EXPECT_EQ(number_text(1e-6), "1e-06");
}

// Error text for clients never says where the server keeps its files.
TEST(PublicMessage, PathsUnderHomeBecomeWhatTheyAre) {
  hearth::test::TempDir home;
  ::setenv("HEARTH_HOME", home.path().c_str(), 1);
  const std::string h = hearth::paths::home().string();
  using hearth::server::public_message;
  EXPECT_EQ(public_message(h + "/blobs/sha256-abc: not a GGUF file (no GGUF magic)"),
            "the model's weights: not a GGUF file (no GGUF magic)");
  EXPECT_EQ(public_message("cannot write '" + h + "/datasets/7/train.jsonl': disk full"),
            "cannot write 'a dataset file': disk full");
  EXPECT_EQ(public_message(h + "/users/2/manifests/x/latest: manifest is not JSON"),
            "a file of the model library: manifest is not JSON");
  EXPECT_EQ(public_message("model 'x' not found; pull it first"), "model 'x' not found; pull it first");
  EXPECT_EQ(public_message("/etc/hosts stays (not ours)"), "/etc/hosts stays (not ours)");
  EXPECT_EQ(public_message("needs 4 GB of disk, 1 GB free at " + h),
            "needs 4 GB of disk, 1 GB free at the model library's folder");
  EXPECT_EQ(public_message(h + "x/other"), h + "x/other");  // another folder that starts alike
  ::unsetenv("HEARTH_HOME");
}

}  // namespace
