// The incremental JSON-object prefix checker behind format = "json" (json_prefix.h).
#include "engine/generate/json_prefix.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth::generate {
namespace {

TEST(JsonPrefix, AcceptsValidAndRefusesInvalid) {
  for (const char* ok :
       {R"({})", R"(  {"a": 1})", R"({"a":[1,2.5e-3,-0,true,false,null,"x\u00e9\n"]})",
        R"({"a":{"b":{}},"c":[[],{}]})"}) {
    JsonPrefix p;
    EXPECT_TRUE(p.feed(ok)) << ok;
    EXPECT_TRUE(p.complete()) << ok;
    EXPECT_FALSE(p.feed(" ")) << "nothing after the object";
  }
  for (const char* bad :
       {R"([1])", R"({"a" 1})", R"({"a":01})", R"({"a":tru })", R"({,})", R"({"a":1,})",
        "{\"a\":\"\x01\"}", R"({"a":1]})", R"({"a":-})", R"({"a":"\x"})", R"({"a":1.})",
        R"({"a":1e999})", R"({"a":123456789012345678901})", "x"}) {
    JsonPrefix p;
    EXPECT_FALSE(p.feed(bad) && p.complete()) << bad;
  }
  JsonPrefix blank;
  EXPECT_TRUE(blank.feed(std::string(JsonPrefix::kMaxLeadingSpace, ' ')));
  EXPECT_FALSE(blank.feed(" ")) << "whitespace is capped";
  JsonPrefix inner;
  EXPECT_TRUE(inner.feed("{" + std::string(JsonPrefix::kMaxSpaceRun, '\n') + "\"a\"" +
                         std::string(JsonPrefix::kMaxSpaceRun, ' ') + ":"));
  EXPECT_FALSE(inner.feed(std::string(JsonPrefix::kMaxSpaceRun + 1, ' ')));
  JsonPrefix partial;
  EXPECT_TRUE(partial.feed(R"({"key": [1, {"b": "unfinished )"));
  EXPECT_FALSE(partial.complete());
}

}  // namespace
}  // namespace hearth::generate
