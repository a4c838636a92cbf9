// validate_jsonl(): one file per check, each issue found with its line.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "data/data.h"
#include "support/test_support.h"

namespace hearth::data {
namespace {

constexpr const char* kGood =
    R"({"messages":[{"role":"system","content":"s"},{"role":"user","content":"q"},)"
    R"({"role":"assistant","content":"a","weight":1}]})";

class ValidateTest : public ::testing::Test {
 protected:
  // A file whose line 3 is `bad` between good lines (and a blank line 2, which is skipped).
  ValidationReport check(const std::string& bad) {
    auto path = dir.path() / "data.jsonl";
    std::ofstream(path) << kGood << "\n\n" << bad << "\n" << kGood << "\n";
    return validate_jsonl(path);
  }
  test::TempDir dir;
};

TEST_F(ValidateTest, AcceptsAGoodFile) {
  ValidationReport r = check(kGood);
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.lines, 3u);
  ASSERT_EQ(r.examples.size(), 3u);
  EXPECT_EQ(r.examples[1].line, 3u);
  ASSERT_EQ(r.examples[1].messages.size(), 3u);
  EXPECT_EQ(r.examples[1].messages[2], std::make_pair(std::string("assistant"), std::string("a")));
}

TEST_F(ValidateTest, FindsEachCheckOnItsLine) {
  struct Row {
    const char* code;
    std::string line;
  };
  const Row rows[] = {
      {"invalid_json", R"({"messages": [)"},
      {"data_type", R"(["not", "an", "object"])"},
      {"data_type", R"({"messages":["text",{"role":"assistant","content":"a"}]})"},
      {"missing_messages_list", R"({"prompt": "q", "completion": "a"})"},
      {"missing_messages_list", R"({"messages": []})"},
      {"missing_messages_list", R"({"messages": "hi"})"},
      {"message_missing_key",
       R"({"messages":[{"content":"q"},{"role":"assistant","content":"a"}]})"},
      {"message_missing_key",
       R"({"messages":[{"role":"user"},{"role":"assistant","content":"a"}]})"},
      {"message_unrecognized_key",
       R"({"messages":[{"role":"user","content":"q","mood":"x"},{"role":"assistant","content":"a"}]})"},
      {"unrecognized_role",
       R"({"messages":[{"role":"narrator","content":"q"},{"role":"assistant","content":"a"}]})"},
      {"missing_content",
       R"({"messages":[{"role":"user","content":""},{"role":"assistant","content":"a"}]})"},
      {"missing_content",
       R"({"messages":[{"role":"user","content":7},{"role":"assistant","content":"a"}]})"},
      {"example_missing_assistant_message", R"({"messages":[{"role":"user","content":"q"}]})"},
      {"invalid_weight",
       R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":0.5}]})"},
      {"invalid_weight",
       R"({"messages":[{"role":"user","content":"q","weight":1},{"role":"assistant","content":"a"}]})"},
      {"invalid_json", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}"},  // bad UTF-8
  };
  for (const Row& r : rows) {
    ValidationReport report = check(r.line);
    ASSERT_EQ(report.issues.size(), 1u) << r.line;
    EXPECT_EQ(report.issues[0].code, r.code) << r.line;
    EXPECT_EQ(report.issues[0].line, 3u) << r.line;
    EXPECT_FALSE(report.issues[0].message.empty());
    EXPECT_EQ(report.examples.size(), 2u);  // the good lines still count
  }
}

TEST_F(ValidateTest, ReportsSeveralKindsOnOneLineOnceEach) {
  ValidationReport r = check(
      R"({"messages":[{"role":"bot","content":"","x":1},{"role":"bot2","content":"","y":2}]})");
  std::vector<std::string> codes;
  for (const auto& i : r.issues) codes.push_back(i.code);
  EXPECT_EQ(codes,
            (std::vector<std::string>{"message_unrecognized_key", "unrecognized_role",
                                      "missing_content", "example_missing_assistant_message"}));
}

TEST_F(ValidateTest, MessagesNameTheTypeAndTheValue) {
  const std::pair<std::string, std::string> rows[] = {
      {R"(["not", "an", "object"])", "the line is a JSON array, not an object"},
      {R"({"messages":[true,{"role":"assistant","content":"a"}]})",
       "message 0 is a JSON boolean, not an object"},
      {R"({"messages":[{"role":5,"content":"q"},{"role":"assistant","content":"a"}]})",
       "message 0 has role 5"},
      {R"({"messages":[{"role":"bot\n","content":"q"},{"role":"assistant","content":"a"}]})",
       "message 0 has role \"bot\\n\""},
      {R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":0.5}]})",
       "message 1 has weight 0.5 (must be 0 or 1)"},
      {R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a","weight":[1]}]})",
       "message 1 has weight [1] (must be 0 or 1)"},
      // The first unknown key in byte order, whatever the order in the line.
      {R"({"messages":[{"zeta":1,"role":"user","content":"q","mood":2},{"role":"assistant","content":"a"}]})",
       "message 0 has key \"mood\""},
  };
  for (const auto& [line, message] : rows) {
    ValidationReport report = check(line);
    ASSERT_EQ(report.issues.size(), 1u) << line;
    EXPECT_EQ(report.issues[0].message, message) << line;
  }
}

TEST_F(ValidateTest, WeightsMayBeWrittenAsFloatsAndALineMayStartWithAByteOrderMark) {
  ValidationReport r = check(
      "\xEF\xBB\xBF" R"({"messages":[{"role":"user","content":"q"},)"
      R"({"role":"assistant","content":"a","weight":1.0},{"role":"assistant","content":"b","weight":0.0}]})");
  EXPECT_TRUE(r.issues.empty()) << r.issues.front().message;
  EXPECT_EQ(r.examples.size(), 3u);
}

TEST_F(ValidateTest, MissingFileIsAnError) {
  try {
    validate_jsonl(dir.path() / "nope.jsonl");
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

}  // namespace
}  // namespace hearth::data
