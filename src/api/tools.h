// Tool calling and thinking on the wire: the request fields of both APIs that become
// chat::ChatOptions and chat messages, and the tool calls and reasoning of answers in each API's
// shape. Every reader checks what it reads and throws Error(invalid_input) naming the field.
//
//   OpenAI  request: tools [{type: "function", function: {name, description, parameters,
//           strict}}], tool_choice ("none", "auto", "required" or {type: "function", function:
//           {name}}), parallel_tool_calls (read, see README), chat_template_kwargs
//           {enable_thinking}; messages: assistant tool_calls [{id, type, function: {name,
//           arguments (a JSON text)}}], role "tool" with tool_call_id, reasoning_content (dropped:
//           history goes back without reasoning).
//           answer: message.tool_calls / delta.tool_calls [{index, id, type, function: {name,
//           arguments}}], message.reasoning_content / delta.reasoning_content.
//   Ollama  request: tools (same shape), think (true, false, or "low"/"medium"/"high" = true),
//           and OpenAI's tool_choice (an extension: Ollama has none);
//           messages: assistant tool_calls [{function: {name, arguments (an object)}}], thinking
//           (dropped), role "tool" with tool_name.
//           answer: message.tool_calls [{id, function: {index, name, arguments}}],
//           message.thinking.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "engine/chat/tools.h"

namespace hearth::api {

enum class ToolDialect { openai, ollama };

// The request's tools, tool choice and thinking switch. The tools themselves (names, schemas)
// and the messages' calls are checked once the messages are read: chat::check_tools.
chat::ChatOptions read_chat_options(const boost::json::object& body, ToolDialect dialect);

// The tool parts of messages[index] (already holding role and content): an assistant's
// tool_calls, a tool result's id or name. Roles "tool" (and OpenAI's older "function") are
// accepted here.
void read_message_tools(const boost::json::object& message, size_t index, ToolDialect dialect,
                        chat::ChatMessage& out);

// Answers: the calls as each API writes them (`first_index`: the index of the first call in
// the whole answer, for streamed deltas).
boost::json::array tool_calls_json(const std::vector<chat::ToolCall>& calls, ToolDialect dialect,
                                   size_t first_index = 0);

// The reverse of the readers, in OpenAI's dialect (the desktop connector's wire carries requests
// this way): a message with its tool parts, and the options as request fields.
boost::json::object message_json(const chat::ChatMessage& message);
void put_chat_options(boost::json::object& body, const chat::ChatOptions& options);

}  // namespace hearth::api
