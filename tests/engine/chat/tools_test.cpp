// Tools and thinking in prompts (tools.h), written out by hand from each family's official
// template for a conversation with one tool, a call and its result; and the forced-call schema.
#include <gtest/gtest.h>

#include <vector>

#include "core/error.h"
#include "engine/chat/tools.h"

namespace hearth::chat {
namespace {

using Chat = std::vector<ChatMessage>;

const std::string kParams =
    R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})";

ChatOptions weather_tools(ToolChoice choice = ToolChoice::automatic) {
  ChatOptions o;
  o.tools = {{"get_weather", "Weather now", kParams}};
  o.tool_choice = choice;
  if (choice == ToolChoice::named) o.tool_name = "get_weather";
  return o;
}

Chat call_and_result() {
  Chat chat = {{"user", "Weather in Paris?"}, {"assistant", ""}, {"tool", "18C"}};
  chat[1].tool_calls = {{"abc123def", "get_weather", R"({"city":"Paris"})"}};
  chat[2].tool_call_id = "abc123def";
  return chat;
}

std::string render(ChatFormat f, const Chat& chat, const ChatOptions& o) {
  return render_chat_prompt(f, chat, true, "", o).text();
}

const std::string kToolLine =
    R"({"type": "function", "function": {"name": "get_weather", "description": "Weather now", )"
    R"("parameters": {"type": "object", "properties": {"city": {"type": "string"}}, )"
    R"("required": ["city"]}}})";

TEST(ToolsRender, ChatmlListsToolsInTheSystemTurnAndGroupsResults) {
  const std::string p = render(ChatFormat::chatml, call_and_result(), weather_tools());
  EXPECT_EQ(p,
            "<|im_start|>system\n" + chatml_tools_section(weather_tools().tools) +
                "<|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n"
                "<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": "
                "{\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n"
                "<|im_start|>user\n<tool_response>\n18C\n</tool_response><|im_end|>\n"
                "<|im_start|>assistant\n");
  EXPECT_NE(p.find("<tools>\n" + kToolLine + "\n</tools>"), std::string::npos);
}

TEST(ToolsRender, ChatmlSystemMessageComesBeforeTheToolSection) {
  Chat chat = {{"system", "Be brief."}, {"user", "Hi"}};
  const std::string p = render(ChatFormat::chatml, chat, weather_tools());
  EXPECT_TRUE(p.starts_with("<|im_start|>system\nBe brief.\n\n# Tools\n\n")) << p;
}

TEST(ToolsRender, ToolChoiceNoneLeavesToolsOut) {
  Chat chat = {{"user", "Hi"}};
  EXPECT_EQ(render(ChatFormat::chatml, chat, weather_tools(ToolChoice::none)),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ToolsRender, Llama3PutsToolsBeforeTheFirstUserMessage) {
  const std::string p = render(ChatFormat::llama3, call_and_result(), weather_tools());
  EXPECT_TRUE(p.starts_with("<|start_header_id|>system<|end_header_id|>\n\nEnvironment: "
                            "ipython\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
                            "Given the following functions"))
      << p;
  EXPECT_NE(p.find("{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": "
                   "\"get_weather\""),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("Weather in Paris?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
                   "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}<|eot_id|>"
                   "<|start_header_id|>ipython<|end_header_id|>\n\n18C<|eot_id|>"),
            std::string::npos)
      << p;
}

TEST(ToolsRender, MistralTekkenToolsAndResults) {
  const std::string p = render(ChatFormat::mistral_v7_tekken, call_and_result(), weather_tools());
  EXPECT_EQ(p, "[AVAILABLE_TOOLS][" + kToolLine +
                   "][/AVAILABLE_TOOLS][INST]Weather in Paris?[/INST][TOOL_CALLS][{\"name\": "
                   "\"get_weather\", \"arguments\": {\"city\": \"Paris\"}, \"id\": "
                   "\"abc123def\"}]</s>[TOOL_RESULTS]{\"content\": \"18C\", \"call_id\": "
                   "\"abc123def\"}[/TOOL_RESULTS]");
}

TEST(ToolsRender, MistralRefusesAToolResultWithoutACall) {
  Chat chat = {{"user", "Hi"}, {"tool", "18C"}};
  EXPECT_THROW(render(ChatFormat::mistral_v7_tekken, chat, weather_tools()), Error);
}

TEST(ToolsRender, GenericStyleRewritesIntoTheFamilysRoles) {
  const std::string p = render(ChatFormat::phi3, call_and_result(), weather_tools());
  EXPECT_EQ(p, "<|system|>\n" + chatml_tools_section(weather_tools().tools) +
                   "<|end|>\n<|user|>\nWeather in Paris?<|end|>\n<|assistant|>\n<tool_call>\n"
                   "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n"
                   "</tool_call><|end|>\n<|user|>\n<tool_response>\n18C\n</tool_response><|end|>\n"
                   "<|assistant|>\n");
}

TEST(ToolsRender, ForcedCallOpensTheCallInThePrompt) {
  Chat chat = {{"user", "Hi"}};
  const auto forced = weather_tools(ToolChoice::required);
  EXPECT_TRUE(render(ChatFormat::chatml, chat, forced).ends_with("<|im_start|>assistant\n<tool_call>\n"));
  EXPECT_TRUE(render(ChatFormat::mistral_v7_tekken, chat, forced).ends_with("[/INST][TOOL_CALLS]"));
  EXPECT_TRUE(render(ChatFormat::llama3, chat, forced).ends_with("assistant<|end_header_id|>\n\n"));
  // A reasoning model skips its reasoning to call right away.
  EXPECT_TRUE(render(ChatFormat::deepseek_r1, chat, forced)
                  .ends_with("<｜Assistant｜><think>\n\n</think>\n\n<tool_call>\n"));
}

TEST(ToolsRender, ThinkingOffClosesAnEmptyReasoningBlock) {
  Chat chat = {{"user", "Hi"}};
  ChatOptions o;
  o.thinking = false;
  EXPECT_TRUE(render(ChatFormat::deepseek_r1, chat, o).ends_with("<｜Assistant｜><think>\n\n</think>\n\n"));
  o.thinking_template = true;
  EXPECT_EQ(render(ChatFormat::chatml, chat, o),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  o.thinking_template = false;  // a template without thinking is left as it is
  EXPECT_EQ(render(ChatFormat::chatml, chat, o), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ToolsRender, EarlierAnswersLoseTheirReasoning) {
  Chat chat = {{"user", "Hi"}, {"assistant", "<think>\nhmm\n</think>\n\nHello"}, {"user", "Bye"}};
  EXPECT_EQ(render(ChatFormat::chatml, chat, ChatOptions{}),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n"
            "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
}

TEST(ToolsCheck, RefusesBadToolsWithTheirName) {
  ChatOptions o = weather_tools();
  o.tools.push_back(o.tools.front());
  EXPECT_THROW(check_tools(o, {}), Error);
  o = weather_tools();
  o.tools[0].parameters = "[1]";
  EXPECT_THROW(check_tools(o, {}), Error);
  o = weather_tools(ToolChoice::named);
  o.tool_name = "nope";
  try {
    check_tools(o, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
  }
  o = weather_tools();
  o.tools[0].name = "bad name";
  EXPECT_THROW(check_tools(o, {}), Error);
  Chat chat = call_and_result();
  chat[1].tool_calls[0].arguments = "{oops";
  EXPECT_THROW(check_tools(weather_tools(), chat), Error);
}

TEST(ToolsSchema, ForcedCallSchemaPerStyle) {
  ChatOptions o = weather_tools(ToolChoice::required);
  o.tools.push_back({"get_time", "", "{}"});
  const std::string chatml = forced_call_schema(ChatFormat::chatml, o);
  EXPECT_NE(chatml.find(R"("anyOf")"), std::string::npos);
  EXPECT_NE(chatml.find(R"({"const":"get_time"})"), std::string::npos);
  EXPECT_NE(chatml.find(R"("required":["name","arguments"])"), std::string::npos);
  EXPECT_NE(forced_call_schema(ChatFormat::llama3, o).find(R"("parameters")"), std::string::npos);
  EXPECT_TRUE(forced_call_schema(ChatFormat::mistral_v7_tekken, o).starts_with(R"({"type":"array")"));
  o.tool_choice = ToolChoice::named;
  o.tool_name = "get_weather";
  EXPECT_EQ(forced_call_schema(ChatFormat::chatml, o).find("anyOf"), std::string::npos);
  EXPECT_EQ(forced_call_schema(ChatFormat::chatml, o).find("get_time"), std::string::npos);
}

}  // namespace
}  // namespace hearth::chat
