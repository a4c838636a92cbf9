// See tools.h: checking what a request offers, the forced-call schema and the generic rewrite.
#include "engine/chat/tools.h"

#include <boost/json.hpp>

#include <cctype>
#include <set>

#include "core/error.h"
#include "engine/chat/python_json.h"

namespace hearth::chat {
namespace {

namespace json = boost::json;

json::value parameters_of(const ToolSpec& tool) {
  json::value p = parse_json(tool.parameters.empty() ? "{}" : tool.parameters,
                             "the parameters of tool '" + tool.name + "'");
  if (!p.is_object())
    throw Error(ErrorKind::invalid_input,
                "the parameters of tool '" + tool.name + "' must be a JSON Schema object");
  return p;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

}  // namespace

ToolStyle tool_style(ChatFormat format) {
  switch (format) {
    case ChatFormat::llama3: return ToolStyle::llama3;
    case ChatFormat::chatml: return ToolStyle::chatml;
    case ChatFormat::mistral_inst:
    case ChatFormat::mistral_v7_tekken: return ToolStyle::mistral;
    default: return ToolStyle::generic;
  }
}

bool opens_thinking(ChatFormat format, const ChatOptions& options) {
  return format == ChatFormat::deepseek_r1 && options.thinking && !options.forced();
}

void check_tools(const ChatOptions& options, const std::vector<ChatMessage>& messages) {
  std::set<std::string, std::less<>> names;
  for (const auto& t : options.tools) {
    if (!valid_name(t.name))
      throw Error(ErrorKind::invalid_input,
                  "tool name '" + t.name +
                      "' must be 1 to 64 letters, digits, underscores, dashes or dots");
    if (!names.insert(t.name).second)
      throw Error(ErrorKind::invalid_input, "tool '" + t.name + "' is listed twice");
    parameters_of(t);
  }
  if (options.tool_choice == ToolChoice::named && !names.contains(options.tool_name))
    throw Error(ErrorKind::invalid_input,
                "tool_choice names '" + options.tool_name + "', which is not one of the tools");
  if (options.tool_choice == ToolChoice::required && options.tools.empty())
    throw Error(ErrorKind::invalid_input, "tool_choice 'required' needs at least one tool");
  for (const auto& m : messages)
    for (const auto& call : m.tool_calls) {
      const json::value args = parse_json(call.arguments.empty() ? "{}" : call.arguments,
                                          "the arguments of the call to '" + call.name + "'");
      if (!args.is_object())
        throw Error(ErrorKind::invalid_input,
                    "the arguments of the call to '" + call.name + "' must be a JSON object");
    }
}

std::string forced_call_schema(ChatFormat format, const ChatOptions& options) {
  const ToolStyle style = tool_style(format);
  const char* key = style == ToolStyle::llama3 ? "parameters" : "arguments";
  json::array alternatives;
  for (const auto& t : options.tools) {
    if (options.tool_choice == ToolChoice::named && t.name != options.tool_name) continue;
    json::value params = parameters_of(t);
    if (params.as_object().empty()) params = json::object{{"type", "object"}};
    alternatives.emplace_back(json::object{
        {"type", "object"},
        {"properties", json::object{{"name", json::object{{"const", t.name}}}, {key, params}}},
        {"required", json::array{"name", key}},
        {"additionalProperties", false}});
  }
  json::value call = alternatives.size() == 1 ? alternatives.front()
                                              : json::value(json::object{{"anyOf", alternatives}});
  if (style == ToolStyle::mistral)
    return json::serialize(json::object{{"type", "array"}, {"items", call}, {"minItems", 1}});
  return json::serialize(call);
}

std::string tool_json_line(const ToolSpec& tool, int indent) {
  json::object function{{"name", tool.name}};
  if (!tool.description.empty()) function["description"] = tool.description;
  function["parameters"] = parameters_of(tool);
  return python_json(json::object{{"type", "function"}, {"function", std::move(function)}}, indent);
}

std::string call_json(const ToolCall& call, const char* arguments_key, bool with_id) {
  json::object o{{"name", call.name},
                 {arguments_key, parse_json(call.arguments.empty() ? "{}" : call.arguments,
                                            "the arguments of the call to '" + call.name + "'")}};
  if (with_id && !call.id.empty()) o["id"] = call.id;
  return python_json(o);
}

std::string chatml_tools_section(const std::vector<ToolSpec>& tools) {
  std::string s =
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
  for (const auto& t : tools) s += "\n" + tool_json_line(t);
  s += "\n</tools>\n\nFor each function call, return a json object with function name and "
       "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": "
       "<function-name>, \"arguments\": <args-json-object>}\n</tool_call>";
  return s;
}

std::string llama3_tools_preamble(const std::vector<ToolSpec>& tools) {
  std::string s =
      "Given the following functions, please respond with a JSON for a function call with its "
      "proper arguments that best answers the given prompt.\n\nRespond in the format "
      "{\"name\": function name, \"parameters\": dictionary of argument name and its value}."
      "Do not use variables.\n\n";
  for (const auto& t : tools) s += tool_json_line(t, 4) + "\n\n";
  return s;
}

std::string mistral_tools_array(const std::vector<ToolSpec>& tools) {
  std::string s = "[";
  for (size_t i = 0; i < tools.size(); ++i) s += (i ? ", " : "") + tool_json_line(tools[i]);
  return s + "]";
}

std::string strip_reasoning(std::string_view content) {
  const size_t end = content.rfind("</think>");
  if (end == std::string_view::npos) return std::string(content);
  content.remove_prefix(end + std::string_view("</think>").size());
  const size_t first = content.find_first_not_of('\n');
  return first == std::string_view::npos ? std::string() : std::string(content.substr(first));
}

std::vector<ChatMessage> generic_tool_messages(std::vector<ChatMessage> messages,
                                               const ChatOptions& options) {
  std::vector<ChatMessage> out;
  if (options.offers_tools()) {
    std::string system;
    if (!messages.empty() && messages.front().role == "system") {
      system = messages.front().content + "\n\n";
      messages.erase(messages.begin());
    }
    out.push_back({"system", system + chatml_tools_section(options.tools)});
  }
  for (auto& m : messages) {
    if (m.role == "tool") {
      std::string block = "<tool_response>\n" + m.content + "\n</tool_response>";
      if (!out.empty() && out.back().role == "user" && out.back().tool_call_id == "\x01") {
        out.back().content += "\n" + block;  // consecutive results share one user message
      } else {
        out.push_back({"user", std::move(block)});
        out.back().tool_call_id = "\x01";  // marks a message made of tool results
      }
      continue;
    }
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      std::string text = m.content;
      for (const auto& call : m.tool_calls)
        text += (text.empty() ? "" : "\n") + std::string("<tool_call>\n") +
                call_json(call, "arguments") + "\n</tool_call>";
      out.push_back({"assistant", std::move(text)});
      continue;
    }
    out.push_back(std::move(m));
  }
  for (auto& m : out) m.tool_call_id.clear();
  return out;
}

}  // namespace hearth::chat
