// Ollama's /api/chat for a version served by a remote API (remote_chat.h): translated to an
// OpenAI chat there and back.
#include "core/json_text.h"
#include "core/log.h"
#include "loop/remote_http.h"
#include "server/json_util.h"
#include "server/remote_chat.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

json::object openai_body(const api::ChatRequest& c, const std::string& remote_model) {
  bool tools = c.chat.offers_tools();
  for (const auto& m : c.messages) tools = tools || m.role == "tool" || !m.tool_calls.empty();
  if (tools)
    throw Error(ErrorKind::unsupported,
                "field 'tools': a version trained by a remote API takes tools through "
                "/v1/chat/completions, not /api/chat");
  json::array messages;
  for (const auto& m : c.messages)
    messages.push_back(json::object{{"role", m.role}, {"content", m.content}});
  json::object body{
      {"model", remote_model}, {"messages", std::move(messages)}, {"stream", c.stream}};
  const api::Options& o = c.options;
  if (o.temperature) body["temperature"] = *o.temperature;
  if (o.top_p) body["top_p"] = *o.top_p;
  if (o.seed) body["seed"] = *o.seed;
  if (o.num_predict && *o.num_predict > 0) body["max_tokens"] = *o.num_predict;
  if (o.stop && !o.stop->empty()) {
    json::array stop;
    for (const auto& s : *o.stop) stop.emplace_back(json::string(s));
    body["stop"] = std::move(stop);
  }
  // The schema was compiled when the request came in, so it parses; should it not, the
  // engine is asked for any JSON object rather than nothing.
  boost::system::error_code schema_error;
  const json::value schema =
      c.json_schema.empty() ? json::value() : json::parse(c.json_schema, schema_error);
  if (!c.json_schema.empty() && !schema_error) {
    body["response_format"] = json::object{
        {"type", "json_schema"},
        {"json_schema", json::object{{"name", "output"}, {"strict", true}, {"schema", schema}}}};
  } else if (c.json_format) {
    body["response_format"] = json::object{{"type", "json_object"}};
  }
  return body;
}

// One Ollama chat object: a piece (done false) or the end (done true with the counts).
json::object ollama_line(const std::string& model, const std::string& content, bool done,
                         const std::string& reason = "stop", const json::object* usage = nullptr) {
  json::object o{{"model", model},
                 {"created_at", rfc3339(std::chrono::system_clock::now())},
                 {"message", json::object{{"role", "assistant"}, {"content", content}}},
                 {"done", done}};
  if (!done) return o;
  auto count = [usage](const char* key) -> std::int64_t {
    if (!usage) return 0;
    const auto* v = usage->if_contains(key);
    return v && v->is_int64() ? v->as_int64() : 0;
  };
  o["done_reason"] = reason;
  o["total_duration"] = 0;
  o["load_duration"] = 0;
  o["prompt_eval_count"] = count("prompt_tokens");
  o["prompt_eval_duration"] = 0;
  o["eval_count"] = count("completion_tokens");
  o["eval_duration"] = 0;
  return o;
}

std::string string_at(const json::value& v, std::string_view pointer) {
  boost::system::error_code ec;
  const json::value* at = v.find_pointer(pointer, ec);
  return at && at->is_string() ? std::string(at->as_string()) : std::string();
}

}  // namespace

Response forward_remote_ollama_chat(ApiContext& api, const Request& http,
                                    const api::ChatRequest& chat,
                                    const library::ResolvedModel& model) {
  const loop::RemoteAccess access = remote_access_for(api, http, model);
  const std::string text = json_text(openai_body(chat, model.remote_model));
  auto out = std::make_shared<ResponseStream>();
  const std::string path = http.path();
  const std::string asked = chat.model;
  const bool stream = chat.stream;
  api.library.run_in_background(
      [out, access, text, path, asked, stream](const std::function<bool()>& stopping) {
        const loop::RemoteApi remote(access);
        std::string whole;    // a whole answer, or an error's body
        std::string pending;  // SSE text not yet ending in a newline
        std::string reason = "stop";
        bool started = false;
        auto take_line = [&](const std::string& line) {  // one SSE line of the remote's stream
          if (!line.starts_with("data: ") || line == "data: [DONE]") return;
          const auto chunk = parse_json(line.substr(6));
          if (!chunk) return;
          if (auto r = string_at(*chunk, "/choices/0/finish_reason"); !r.empty()) reason = r;
          const std::string piece = string_at(*chunk, "/choices/0/delta/content");
          if (!piece.empty()) out->write(json_text(ollama_line(asked, piece, false)) + "\n");
        };
        try {
          const long status = remote.post_raw(
              "/chat/completions", text,
              [&](long code, std::string_view bytes) {
                if (stream && code >= 200 && code <= 299) {
                  if (!started) out->start(static_cast<int>(code), "application/x-ndjson");
                  started = true;
                  pending.append(bytes);
                  for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
                    std::string line = pending.substr(0, nl);
                    if (!line.empty() && line.back() == '\r') line.pop_back();
                    pending.erase(0, nl + 1);
                    take_line(line);
                  }
                } else if (whole.size() < (16u << 20)) {
                  whole.append(bytes);
                }
              },
              [&] { return out->cancelled() || stopping(); });
          if (started) {
            out->write(json_text(ollama_line(asked, "", true, reason)) + "\n");
            out->finish();
            return;
          }
          const auto answer = parse_json(whole);
          if (status < 200 || status > 299 || !answer || !answer->is_object()) {
            std::string message = answer ? string_at(*answer, "/error/message") : std::string();
            if (message.empty()) message = "answered " + std::to_string(status);
            out->respond(error_response(
                path, status >= 400 && status < 500 ? static_cast<int>(status) : 503,
                ErrorKind::unavailable, "the remote serving this model: " + message));
            return;
          }
          const json::object* usage = nullptr;
          if (const auto* u = answer->as_object().if_contains("usage"); u && u->is_object())
            usage = &u->as_object();
          const std::string finish = string_at(*answer, "/choices/0/finish_reason");
          out->respond(
              json_response(ollama_line(asked, string_at(*answer, "/choices/0/message/content"),
                                        true, finish.empty() ? "stop" : finish, usage)));
        } catch (const std::exception& e) {
          end_failed_forwarding(*out, started, path, asked, e);
        }
      });
  Response r;
  r.stream = std::move(out);
  return r;
}

}  // namespace hearth::server
