// See desktop_wire.h.
#include "server/desktop_wire.h"

#include "api/tools.h"

#include <array>
#include <cmath>

namespace hearth::server::wire {
namespace {

Error bad(std::string_view key, std::string_view what) {
  return Error(ErrorKind::invalid_input,
               "message field \"" + std::string(key) + "\" must be " + std::string(what));
}

double number_field(const json::object& o, std::string_view key, double fallback) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_number()) throw bad(key, "a number");
  const double d = v->to_number<double>();
  if (!std::isfinite(d)) throw bad(key, "a finite number");
  return d;
}

int small_int(const json::object& o, std::string_view key, int fallback) {
  const std::int64_t v = int_field(o, key, fallback);
  if (v < -(1LL << 30) || v > (1LL << 30)) throw bad(key, "an integer of at most 2^30");
  return static_cast<int>(v);
}

}  // namespace

std::string string_field(const json::object& o, std::string_view key, std::string fallback) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_string()) throw bad(key, "a string");
  return std::string(v->as_string());
}

std::int64_t int_field(const json::object& o, std::string_view key, std::int64_t fallback) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  throw bad(key, "an integer");
}

const json::object& object_field(const json::object& o, std::string_view key) {
  static const json::object empty;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return empty;
  if (!v->is_object()) throw bad(key, "an object");
  return v->as_object();
}

json::object infer_message(const std::string& id, const GenerationRequest& r) {
  const auto& s = r.sampling;
  json::object options{{"temperature", s.temperature},
                       {"top_p", s.top_p},
                       {"top_k", s.top_k},
                       {"min_p", s.min_p},
                       {"repeat_penalty", s.repeat_penalty},
                       {"repeat_last_n", s.repeat_last_n},
                       {"presence_penalty", s.presence_penalty},
                       {"frequency_penalty", s.frequency_penalty},
                       {"seed", s.seed},
                       {"max_tokens", r.max_tokens},
                       {"json", r.json_object},
                       {"num_ctx", r.num_ctx}};
  if (!r.stop.empty()) {
    json::array stop;
    for (const auto& x : r.stop) stop.emplace_back(json::string(x));
    options["stop"] = std::move(stop);
  }
  if (r.keep_alive) options["keep_alive_ms"] = r.keep_alive->count();
  if (!r.json_schema.empty()) options["json_schema"] = r.json_schema;  // the schema's JSON text
  json::object m{{"type", "infer"}, {"id", id}, {"model", r.model}, {"options", std::move(options)}};
  if (!r.messages.empty()) {
    json::array messages;
    for (const auto& x : r.messages) messages.emplace_back(api::message_json(x));
    m["messages"] = std::move(messages);
    api::put_chat_options(m, r.chat);
  } else {
    m["prompt"] = r.prompt;
    m["template"] = r.apply_template;
    if (!r.system.empty()) m["system"] = r.system;
  }
  return m;
}

// The tool parts are read with the API's readers; whatever they refuse is a malformed message
// here (invalid_input), like every other field of the wire.
namespace {
template <typename F>
void tools_or_bad(F&& read) {
  try {
    read();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid_input) throw;
    throw Error(ErrorKind::invalid_input, std::string("infer: ") + e.what());
  }
}
}  // namespace

GenerationRequest request_from_infer(const json::object& m) {
  GenerationRequest r;
  r.model = string_field(m, "model");
  if (r.model.empty()) throw bad("model", "a model name");
  if (const json::value* v = m.if_contains("messages"); v != nullptr && !v->is_null()) {
    if (!v->is_array()) throw bad("messages", "an array");
    const auto& list = v->as_array();
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) throw bad("messages", "an array of {role, content} objects");
      r.messages.push_back({string_field(list[i].as_object(), "role"),
                            string_field(list[i].as_object(), "content")});
      tools_or_bad([&] {
        api::read_message_tools(list[i].as_object(), i, api::ToolDialect::openai, r.messages.back());
      });
    }
    tools_or_bad([&] {
      r.chat = api::read_chat_options(m, api::ToolDialect::openai);
      chat::check_tools(r.chat, r.messages);
    });
  }
  r.prompt = string_field(m, "prompt");
  r.system = string_field(m, "system");
  if (const json::value* v = m.if_contains("template"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) throw bad("template", "true or false");
    r.apply_template = v->as_bool();
  }
  const json::object& o = object_field(m, "options");
  auto& s = r.sampling;
  s.temperature = static_cast<float>(number_field(o, "temperature", 0.8));
  s.top_p = static_cast<float>(number_field(o, "top_p", 0.9));
  s.top_k = small_int(o, "top_k", 40);
  s.min_p = static_cast<float>(number_field(o, "min_p", 0.0));
  s.repeat_penalty = static_cast<float>(number_field(o, "repeat_penalty", 1.1));
  s.repeat_last_n = small_int(o, "repeat_last_n", 64);
  s.presence_penalty = static_cast<float>(number_field(o, "presence_penalty", 0.0));
  s.frequency_penalty = static_cast<float>(number_field(o, "frequency_penalty", 0.0));
  if (const json::value* v = o.if_contains("seed"); v != nullptr && !v->is_null()) {
    if (v->is_uint64()) s.seed = v->as_uint64();
    else if (v->is_int64() && v->as_int64() >= 0) s.seed = static_cast<std::uint64_t>(v->as_int64());
    else throw bad("seed", "a non-negative integer");
  } else {
    s.seed = generate::random_seed();
  }
  r.max_tokens = small_int(o, "max_tokens", -1);
  r.num_ctx = small_int(o, "num_ctx", 0);
  if (r.num_ctx < 0) throw bad("num_ctx", "0 or more");
  if (const json::value* v = o.if_contains("json"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) throw bad("json", "true or false");
    r.json_object = v->as_bool();
  }
  if (const json::value* v = o.if_contains("json_schema"); v != nullptr && !v->is_null()) {
    if (!v->is_string()) throw bad("json_schema", "a JSON schema's text");
    r.json_schema = std::string(v->as_string());
  }
  if (const json::value* v = o.if_contains("stop"); v != nullptr && !v->is_null()) {
    if (!v->is_array()) throw bad("stop", "an array of strings");
    for (const auto& x : v->as_array()) {
      if (!x.is_string()) throw bad("stop", "an array of strings");
      r.stop.emplace_back(x.as_string());
    }
  }
  if (o.contains("keep_alive_ms"))
    r.keep_alive = std::chrono::milliseconds(int_field(o, "keep_alive_ms"));
  return r;
}

json::object piece_json(const std::string& id, const GenerationEvent& e) {
  json::object o{{"type", "piece"}, {"id", id}, {"text", e.text}};
  if (!e.reasoning.empty()) o["reasoning"] = e.reasoning;
  if (!e.tool_calls.empty())
    o["tool_calls"] = api::tool_calls_json(e.tool_calls, api::ToolDialect::openai);
  return o;
}

void piece_from(const json::object& m, GenerationEvent& e) {
  e.text = string_field(m, "text");
  e.reasoning = string_field(m, "reasoning");
  if (const json::value* v = m.if_contains("tool_calls"); v != nullptr && !v->is_null()) {
    // The calls come back in the shape an assistant message holds them: read them as one.
    chat::ChatMessage holder{"assistant", ""};
    api::read_message_tools(json::object{{"tool_calls", *v}}, 0, api::ToolDialect::openai, holder);
    e.tool_calls = std::move(holder.tool_calls);
  }
}

json::object usage_json(const Timings& t) {
  return {{"prompt_tokens", t.prompt_tokens}, {"completion_tokens", t.completion_tokens},
          {"load_ns", t.load_ns},             {"prompt_ns", t.prompt_ns},
          {"eval_ns", t.eval_ns},             {"total_ns", t.total_ns}};
}

Timings timings_from(const json::value& usage) {
  Timings t;
  if (!usage.is_object()) return t;
  const json::object& o = usage.as_object();
  auto count = [&](std::string_view key) {
    const std::int64_t v = int_field(o, key);
    return static_cast<int>(std::clamp<std::int64_t>(v, 0, 1LL << 30));
  };
  t.prompt_tokens = count("prompt_tokens");
  t.completion_tokens = count("completion_tokens");
  t.load_ns = std::max<std::int64_t>(0, int_field(o, "load_ns"));
  t.prompt_ns = std::max<std::int64_t>(0, int_field(o, "prompt_ns"));
  t.eval_ns = std::max<std::int64_t>(0, int_field(o, "eval_ns"));
  t.total_ns = std::max<std::int64_t>(0, int_field(o, "total_ns"));
  return t;
}

std::string_view kind_name(ErrorKind kind) { return error_kind_name(kind); }

ErrorKind kind_from(std::string_view name) {
  constexpr std::array kinds = {ErrorKind::invalid_input, ErrorKind::not_found,
                                ErrorKind::io,            ErrorKind::corrupt_file,
                                ErrorKind::unsupported,   ErrorKind::out_of_memory,
                                ErrorKind::unauthorized,  ErrorKind::conflict,
                                ErrorKind::unavailable,   ErrorKind::internal};
  for (ErrorKind k : kinds)
    if (error_kind_name(k) == name) return k;
  return ErrorKind::unavailable;
}

std::string full_model_name(std::string_view name) {
  const auto slash = name.rfind('/');
  const auto colon = name.find(':', slash == std::string_view::npos ? 0 : slash);
  if (colon != std::string_view::npos) return std::string(name);
  return std::string(name) + ":latest";
}

}  // namespace hearth::server::wire
