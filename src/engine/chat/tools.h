// Tools and thinking in chat prompts: what a request offers the model beyond its messages, and
// how each family's prompt carries it.
//
// Tool styles (ChatFormat -> how tools are written and how calls come back):
//   llama3   Llama 3.1+/3.2. A system turn opens with "Environment: ipython"; the tool list goes in
//            front of the first user message with the instruction to answer with
//            {"name": ..., "parameters": {...}}; each tool is printed as indented JSON. A call is an
//            answer that is such a JSON object (several separated by ";"); a tool result is an
//            "ipython" turn.
//   chatml   Qwen 2.5, Qwen3, Hermes. The system turn gets a "# Tools" section listing the tools
//            inside <tools></tools>, one JSON line each; a call is a <tool_call>{"name": ...,
//            "arguments": {...}}</tool_call> block (several allowed, text around them is the
//            answer); consecutive tool results go in one user turn, each in <tool_response> tags.
//   mistral  Mistral v3 and v7-tekken (Mistral Small 3.x, Devstral): [AVAILABLE_TOOLS] + a JSON
//            array of the tools + [/AVAILABLE_TOOLS] in front of the last user message; a call is
//            [TOOL_CALLS] + a JSON array of {"name", "arguments"} objects; a result is
//            [TOOL_RESULTS]{"content": ..., "call_id": ...}[/TOOL_RESULTS].
//   generic  Every other format (Phi-3, DeepSeek-R1 distills, Gemma 3): their official templates
//            have no tool syntax. The tool list and the <tool_call> instruction of the chatml
//            style are appended to the system message (one is made when there is none); an
//            assistant's earlier calls are written into its text as <tool_call> blocks and tool
//            results become user messages holding <tool_response> blocks, so the family's own
//            roles carry everything.
// A forced call (tool_choice "required" or a named function) ends the prompt with the style's
// call opening (chatml and generic "<tool_call>\n", mistral "[TOOL_CALLS]", llama3 nothing) and
// constrains the output to the call's JSON (forced_call_schema); the reply is then that JSON.
//
// Thinking: DeepSeek-R1 distills always open their answer with reasoning (the generation prompt
// ends in "<think>\n"); Qwen3-style ChatML templates (those that mention <think>) let the model
// write "<think>...</think>" first. With thinking off, the generation prompt closes an empty
// reasoning block ("<think>\n\n</think>\n\n"), as those templates do for enable_thinking=false.
// Earlier answers are rendered without their reasoning.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"

namespace hearth::chat {

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters = "{}";  // the arguments' JSON Schema (an object's text)
};

enum class ToolChoice { automatic, none, required, named };

struct ChatOptions {
  std::vector<ToolSpec> tools;   // offered to the model; empty: none
  ToolChoice tool_choice = ToolChoice::automatic;
  std::string tool_name;         // named: the function that must be called
  bool thinking = true;          // false: ask a thinking template to skip its reasoning
  bool thinking_template = false;  // the model's template writes <think> (ModelChat sets it)

  bool forced() const {
    return !tools.empty() &&
           (tool_choice == ToolChoice::required || tool_choice == ToolChoice::named);
  }
  // Tools go into the prompt (tool_choice "none" leaves them out: the model cannot call any).
  bool offers_tools() const { return !tools.empty() && tool_choice != ToolChoice::none; }
};

enum class ToolStyle { llama3, chatml, mistral, generic };
ToolStyle tool_style(ChatFormat format);

// Whether the format's answers open with reasoning the model writes ("<think>" first).
bool opens_thinking(ChatFormat format, const ChatOptions& options);

// Checks tool names (non-empty, unique), parameters (a JSON object), the named choice (one of
// the tools) and tool_calls' arguments (JSON objects); Error(invalid_input) naming what is wrong.
void check_tools(const ChatOptions& options, const std::vector<ChatMessage>& messages);

// The JSON Schema (text) of what a forced call's output must be in this format: an object
// {"name": <one of the allowed names>, "arguments" (llama3: "parameters"): <that tool's schema>},
// or for mistral an array of one or more such objects.
std::string forced_call_schema(ChatFormat format, const ChatOptions& options);

// The generic style's rewrite (see above): the same conversation in system/user/assistant
// messages only, tools described in the system message. Other styles keep their messages.
std::vector<ChatMessage> generic_tool_messages(std::vector<ChatMessage> messages,
                                               const ChatOptions& options);

// render_chat_prompt() with tools and thinking (chat_template.h; the plain overload is this with
// default options): tools rendered in the format's style, tool messages and calls in history,
// earlier answers without their reasoning, and after the generation prompt the empty reasoning
// block (thinking off) and the forced call's opening. Error(invalid_input) as render_chat().
tokenizer::PromptText render_chat_prompt(ChatFormat format, std::span<const ChatMessage> messages,
                                         bool add_generation_prompt, const std::string& bos_text,
                                         const ChatOptions& options);

// Pieces the renderers share.
std::string tool_json_line(const ToolSpec& tool, int indent = -1);  // {"type": "function", ...}
std::string call_json(const ToolCall& call, const char* arguments_key, bool with_id = false);
std::string chatml_tools_section(const std::vector<ToolSpec>& tools);
std::string llama3_tools_preamble(const std::vector<ToolSpec>& tools);
std::string mistral_tools_array(const std::vector<ToolSpec>& tools);
// The answer text without reasoning: what follows the last "</think>" (leading newlines
// dropped, as Qwen3's template does), or the whole text when it has none.
std::string strip_reasoning(std::string_view content);

}  // namespace hearth::chat
