// See tools.h.
#include "api/tools.h"

#include "api/fields.h"
#include "core/error.h"

namespace hearth::api {
namespace {

std::vector<chat::ToolSpec> read_tools(const json::object& body) {
  std::vector<chat::ToolSpec> tools;
  const auto it = body.find("tools");
  if (it == body.end() || it->value().is_null()) return tools;
  if (!it->value().is_array()) bad_field("tools", "an array of tools");
  const auto& list = it->value().get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = "tools[" + std::to_string(i) + "]";
    if (!list[i].is_object()) bad_field(field, "an object");
    const auto& t = list[i].get_object();
    const std::string type = opt_string(t, "type").value_or("function");
    if (type != "function")
      throw Error(ErrorKind::unsupported, "field '" + field + ".type': tools of type '" + type +
                                              "' are not supported (only 'function')");
    const json::object* f = opt_object(t, "function");
    if (f == nullptr) bad_field(field + ".function", "an object with the function's name");
    chat::ToolSpec spec;
    spec.name = req_string(*f, "name");
    spec.description = opt_string(*f, "description").value_or("");
    if (const auto p = f->find("parameters"); p != f->end() && !p->value().is_null()) {
      if (!p->value().is_object()) bad_field(field + ".function.parameters", "a JSON Schema object");
      spec.parameters = json::serialize(p->value());
    }
    opt_bool(*f, "strict");  // checked; arguments are always held to the schema when forced
    tools.push_back(std::move(spec));
  }
  return tools;
}

void read_tool_choice(const json::object& body, chat::ChatOptions& o) {
  const auto it = body.find("tool_choice");
  if (it == body.end() || it->value().is_null()) return;
  const json::value& v = it->value();
  if (v.is_string()) {
    const std::string_view s = v.get_string();
    if (s == "auto") o.tool_choice = chat::ToolChoice::automatic;
    else if (s == "none") o.tool_choice = chat::ToolChoice::none;
    else if (s == "required") o.tool_choice = chat::ToolChoice::required;
    else bad_field("tool_choice", "'none', 'auto', 'required' or {\"type\": \"function\", ...}");
    return;
  }
  if (!v.is_object()) bad_field("tool_choice", "a string or an object");
  const json::object* f = opt_object(v.get_object(), "function");
  if (f == nullptr) bad_field("tool_choice.function", "an object with the function's name");
  o.tool_choice = chat::ToolChoice::named;
  o.tool_name = req_string(*f, "name");
}

}  // namespace

chat::ChatOptions read_chat_options(const json::object& body, ToolDialect dialect) {
  chat::ChatOptions o;
  o.tools = read_tools(body);
  read_tool_choice(body, o);  // Ollama has none: hearth takes OpenAI's there too
  if (dialect == ToolDialect::openai) {
    opt_bool(body, "parallel_tool_calls");
    if (body.contains("functions") || body.contains("function_call"))
      throw Error(ErrorKind::unsupported,
                  "fields 'functions' and 'function_call' are not supported: use 'tools' and "
                  "'tool_choice'");
    if (const json::object* kw = opt_object(body, "chat_template_kwargs"))
      if (auto on = opt_bool(*kw, "enable_thinking")) o.thinking = *on;
  } else if (const auto it = body.find("think"); it != body.end() && !it->value().is_null()) {
    // Ollama: true/false, or an effort level (which hearth's templates do not take) meaning on.
    if (it->value().is_bool()) o.thinking = it->value().get_bool();
    else if (it->value().is_string() &&
             (it->value().get_string() == "low" || it->value().get_string() == "medium" ||
              it->value().get_string() == "high"))
      o.thinking = true;
    else bad_field("think", "true, false, \"low\", \"medium\" or \"high\"");
  }
  if (o.tool_choice == chat::ToolChoice::required && o.tools.empty())
    bad_field("tool_choice", "'none' or 'auto' when no tools are given");
  if (o.tool_choice == chat::ToolChoice::named) {
    bool found = false;
    for (const auto& t : o.tools) found = found || t.name == o.tool_name;
    if (!found)
      throw Error(ErrorKind::invalid_input, "field 'tool_choice' names '" + o.tool_name +
                                                "', which is not one of the tools");
  }
  return o;
}

void read_message_tools(const json::object& m, size_t index, ToolDialect dialect,
                        chat::ChatMessage& out) {
  const std::string field = "messages[" + std::to_string(index) + "]";
  if (out.role == "function") {  // OpenAI's older form of a tool result
    out.role = "tool";
    out.tool_name = opt_string(m, "name").value_or("");
  }
  if (out.role == "tool") {
    out.tool_call_id = opt_string(m, "tool_call_id").value_or("");
    if (out.tool_name.empty())
      out.tool_name = opt_string(m, "tool_name").value_or(opt_string(m, "name").value_or(""));
    return;
  }
  const auto it = m.find("tool_calls");
  if (out.role != "assistant" || it == m.end() || it->value().is_null()) return;
  if (!it->value().is_array()) bad_field(field + ".tool_calls", "an array");
  const auto& calls = it->value().get_array();
  for (size_t c = 0; c < calls.size(); ++c) {
    const std::string cf = field + ".tool_calls[" + std::to_string(c) + "]";
    if (!calls[c].is_object()) bad_field(cf, "an object");
    const auto& call = calls[c].get_object();
    const json::object* f = opt_object(call, "function");
    if (f == nullptr) bad_field(cf + ".function", "an object with name and arguments");
    chat::ToolCall tc;
    tc.id = opt_string(call, "id").value_or("");
    tc.name = req_string(*f, "name");
    const auto a = f->find("arguments");
    if (a == f->end() || a->value().is_null()) {
      tc.arguments = "{}";
    } else if (a->value().is_string()) {  // OpenAI: the arguments' JSON text
      boost::system::error_code ec;
      const json::value parsed = json::parse(a->value().get_string(), ec);
      if (ec || !parsed.is_object())
        bad_field(cf + ".function.arguments", "the JSON text of an object");
      tc.arguments = json::serialize(parsed);
    } else if (a->value().is_object()) {  // Ollama: the object itself
      tc.arguments = json::serialize(a->value());
    } else {
      bad_field(cf + ".function.arguments",
                dialect == ToolDialect::openai ? "a JSON text" : "an object");
    }
    out.tool_calls.push_back(std::move(tc));
  }
}

json::array tool_calls_json(const std::vector<chat::ToolCall>& calls, ToolDialect dialect,
                            size_t first_index) {
  json::array out;
  for (size_t i = 0; i < calls.size(); ++i) {
    const auto& c = calls[i];
    const size_t index = first_index + i;
    if (dialect == ToolDialect::openai) {
      out.emplace_back(json::object{
          {"index", index},
          {"id", c.id},
          {"type", "function"},
          {"function", json::object{{"name", c.name}, {"arguments", c.arguments}}}});
    } else {
      boost::system::error_code ec;
      json::value args = json::parse(c.arguments, ec);
      if (ec) args = json::object{};
      out.emplace_back(json::object{
          {"id", c.id},
          {"function", json::object{{"index", index}, {"name", c.name}, {"arguments", std::move(args)}}}});
    }
  }
  return out;
}

json::object message_json(const chat::ChatMessage& m) {
  json::object o{{"role", m.role}, {"content", m.content}};
  if (!m.tool_calls.empty()) {
    json::array calls = tool_calls_json(m.tool_calls, ToolDialect::openai);
    for (auto& c : calls) c.as_object().erase("index");
    o["tool_calls"] = std::move(calls);
  }
  if (!m.tool_call_id.empty()) o["tool_call_id"] = m.tool_call_id;
  if (!m.tool_name.empty()) o["name"] = m.tool_name;
  return o;
}

void put_chat_options(json::object& body, const chat::ChatOptions& o) {
  if (!o.tools.empty()) {
    json::array tools;
    for (const auto& t : o.tools) {
      boost::system::error_code ec;
      json::value params = json::parse(t.parameters, ec);
      if (ec) params = json::object{};
      tools.emplace_back(json::object{
          {"type", "function"},
          {"function", json::object{{"name", t.name}, {"description", t.description},
                                    {"parameters", std::move(params)}}}});
    }
    body["tools"] = std::move(tools);
  }
  switch (o.tool_choice) {
    case chat::ToolChoice::automatic: break;
    case chat::ToolChoice::none: body["tool_choice"] = "none"; break;
    case chat::ToolChoice::required: body["tool_choice"] = "required"; break;
    case chat::ToolChoice::named:
      body["tool_choice"] = json::object{{"type", "function"},
                                         {"function", json::object{{"name", o.tool_name}}}};
      break;
  }
  if (!o.thinking) body["chat_template_kwargs"] = json::object{{"enable_thinking", false}};
}

}  // namespace hearth::api
