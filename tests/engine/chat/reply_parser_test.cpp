// ReplyParser (reply_parser.h): reasoning, answer and calls apart, whatever way the text is cut
// into pieces while it streams.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/chat/reply_parser.h"

namespace hearth::chat {
namespace {

ChatOptions with_tools(ToolChoice choice = ToolChoice::automatic) {
  ChatOptions o;
  o.tools = {{"get_weather", "", R"({"type":"object"})"}};
  o.tool_choice = choice;
  return o;
}

// Feeds `text` in pieces of `step` bytes, then finishes.
ReplyDelta parse(ChatFormat f, const ChatOptions& o, const std::string& text, size_t step) {
  ReplyParser p(f, o);
  ReplyDelta all;
  for (size_t i = 0; i < text.size(); i += step) all.append(p.push(text.substr(i, step)));
  all.append(p.finish());
  return all;
}

// The same result for every way of cutting the text.
ReplyDelta parse_all_ways(ChatFormat f, const ChatOptions& o, const std::string& text) {
  const ReplyDelta whole = parse(f, o, text, text.size() + 1);
  for (size_t step = 1; step < 8; ++step) {
    const ReplyDelta cut = parse(f, o, text, step);
    EXPECT_EQ(cut.content, whole.content) << "step " << step;
    EXPECT_EQ(cut.reasoning, whole.reasoning) << "step " << step;
    EXPECT_EQ(cut.tool_calls, whole.tool_calls) << "step " << step;
  }
  return whole;
}

TEST(ReplyParser, PlainTextPassesThrough) {
  const auto r = parse_all_ways(ChatFormat::chatml, {}, "Hello <b>world</b>\n");
  EXPECT_EQ(r.content, "Hello <b>world</b>\n");
  EXPECT_TRUE(r.reasoning.empty());
  EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ReplyParser, ReasoningWrittenByTheModel) {
  const auto r = parse_all_ways(ChatFormat::chatml, {}, "<think>\nLet me see.\nOK.\n</think>\n\nIt is 4.");
  EXPECT_EQ(r.reasoning, "Let me see.\nOK.");
  EXPECT_EQ(r.content, "It is 4.");
}

TEST(ReplyParser, ReasoningOpenedByThePrompt) {
  const auto r = parse_all_ways(ChatFormat::deepseek_r1, {}, "Hmm.\n</think>\n\nFour.");
  EXPECT_EQ(r.reasoning, "Hmm.");
  EXPECT_EQ(r.content, "Four.");
  ChatOptions off;
  off.thinking = false;  // the prompt closed the block: all of it is the answer
  EXPECT_EQ(parse_all_ways(ChatFormat::deepseek_r1, off, "Four.").content, "Four.");
}

TEST(ReplyParser, ReasoningCutOffStaysReasoning) {
  const auto r = parse_all_ways(ChatFormat::deepseek_r1, {}, "Still thinking </thi");
  EXPECT_EQ(r.reasoning, "Still thinking </thi");
  EXPECT_TRUE(r.content.empty());
}

TEST(ReplyParser, LookAlikesAreText) {
  EXPECT_EQ(parse_all_ways(ChatFormat::chatml, {}, "<thin ice").content, "<thin ice");
  EXPECT_EQ(parse_all_ways(ChatFormat::chatml, with_tools(), "a <tool_cal b").content, "a <tool_cal b");
  EXPECT_EQ(parse_all_ways(ChatFormat::llama3, with_tools(), "[x] {y}").content, "[x] {y}");
  EXPECT_EQ(parse_all_ways(ChatFormat::mistral_v7_tekken, with_tools(), "[link](u)").content, "[link](u)");
}

TEST(ReplyParser, ChatmlCallsAmongText) {
  const auto r = parse_all_ways(
      ChatFormat::chatml, with_tools(),
      "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Rome\\\"}\"}\n</tool_call>");
  EXPECT_EQ(r.content, "Checking.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"city":"Paris"})");
  EXPECT_EQ(r.tool_calls[1].arguments, R"({"city":"Rome"})");
}

TEST(ReplyParser, ABrokenCallIsGivenBackAsText) {
  const auto r = parse_all_ways(ChatFormat::chatml, with_tools(), "<tool_call>\n{oops}\n</tool_call>");
  EXPECT_EQ(r.content, "<tool_call>\n{oops}\n</tool_call>");
  EXPECT_TRUE(r.tool_calls.empty());
}

TEST(ReplyParser, UnclosedCallThatParsesIsACall) {
  const auto r = parse_all_ways(ChatFormat::chatml, with_tools(),
                                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, "{}");
}

TEST(ReplyParser, Llama3JsonAnswerIsACall) {
  auto r = parse_all_ways(ChatFormat::llama3, with_tools(),
                          "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"city":"Oslo"})");
  r = parse_all_ways(ChatFormat::llama3, with_tools(),
                     "{\"name\": \"a\", \"parameters\": {}}; {\"name\": \"b\", \"parameters\": {}}");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[1].name, "b");
  // Without tools a JSON answer is just an answer.
  EXPECT_EQ(parse_all_ways(ChatFormat::llama3, {}, "{\"name\": \"a\"}").content, "{\"name\": \"a\"}");
}

TEST(ReplyParser, MistralCallArray) {
  const auto r = parse_all_ways(ChatFormat::mistral_v7_tekken, with_tools(),
                                "[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Bern\"}, \"id\": \"x1\"}]");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].id, "x1");
  EXPECT_TRUE(r.content.empty());
}

TEST(ReplyParser, ForcedOutputIsTheCallsJson) {
  const auto r = parse_all_ways(ChatFormat::chatml, with_tools(ToolChoice::required),
                                "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lima\"}}");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].arguments, R"({"city":"Lima"})");
}

TEST(ReplyParser, ReasoningThenCall) {
  const auto r = parse_all_ways(ChatFormat::chatml, with_tools(),
                                "<think>need weather</think>\n<tool_call>{\"name\": \"get_weather\", "
                                "\"arguments\": {}}</tool_call>");
  EXPECT_EQ(r.reasoning, "need weather");
  EXPECT_TRUE(r.content.empty());
  ASSERT_EQ(r.tool_calls.size(), 1u);
}

}  // namespace
}  // namespace hearth::chat
