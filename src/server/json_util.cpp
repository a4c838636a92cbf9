// JSON helpers for the route handlers (see json_util.h).
#include "server/json_util.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "engine/tokenizer/utf8.h"

namespace hearth::server {
namespace {

// A string as JSON text, with U+FFFD in place of each invalid UTF-8 sequence: answers repeat what
// clients sent (a path's id, a Content-Type) and must stay JSON that every client can read.
void append_string(std::string& out, std::string_view text) {
  namespace utf8 = tokenizer::utf8;
  out += utf8::is_valid(text) ? json::serialize(text) : json::serialize(utf8::sanitize(text));
}

void append_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[32];
      const auto end = std::to_chars(buf, buf + sizeof buf, d).ptr;
      out.append(buf, end);
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_json(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        append_string(out, key);
        out += ':';
        append_json(out, item);
      }
      out += '}';
      return;
    }
    case json::kind::string: append_string(out, v.get_string()); return;
    default: out += json::serialize(v);  // null, bool and integers are fine as they are
  }
}

}  // namespace

std::string json_text(const json::value& value) {
  std::string out;
  append_json(out, value);
  return out;
}

Response json_response(const json::value& value, int status) {
  Response r;
  r.status = status;
  r.body = json_text(value);
  return r;
}

json::object parse_body_object(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) throw Error(ErrorKind::invalid_input, "invalid JSON in request body: " + ec.message());
  if (!v.is_object()) throw Error(ErrorKind::invalid_input, "request body must be a JSON object");
  return std::move(v.as_object());
}

json::array float_array(std::span<const float> values) {
  json::array a;
  a.reserve(values.size());
  for (float f : values) a.emplace_back(static_cast<double>(f));
  return a;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

Response failure_response(std::string_view path, const std::exception& e, std::string_view doing) {
  if (const auto* error = dynamic_cast<const Error*>(&e); error && status_for(error->kind()) < 500)
    return error_response(path, status_for(error->kind()), error->kind(), public_message(e.what()));
  SPDLOG_WARN("{}: {}", doing, e.what());
  const ErrorKind kind = dynamic_cast<const Error*>(&e) ? dynamic_cast<const Error*>(&e)->kind()
                                                        : ErrorKind::internal;
  return error_response(path, status_for(kind) >= 500 ? status_for(kind) : 500, kind,
                        std::string(doing) + " failed (the server's log says why)");
}

std::string public_message(std::string_view message) {
  std::string home;
  try {
    home = paths::home().lexically_normal().string();
  } catch (const std::exception&) {
    return std::string(message);
  }
  while (home.size() > 1 && home.back() == '/') home.pop_back();
  if (home.size() <= 1) return std::string(message);
  std::string out;
  for (size_t at = 0;;) {
    const size_t found = message.find(home, at);
    if (found == std::string_view::npos) {
      out.append(message.substr(at));
      return out;
    }
    // A path ends at white space, a quote, a comma or ": " (how messages join a path and a reason).
    auto ends_path = [&](size_t i) {
      const char c = message[i];
      return c == ' ' || c == '\t' || c == '\n' || c == '\'' || c == '"' || c == '`' || c == ',' ||
             c == ')' || (c == ':' && (i + 1 == message.size() || message[i + 1] == ' '));
    };
    size_t end = found + home.size();
    if (end < message.size() && message[end] != '/' && !ends_path(end)) {
      // Only a whole path component: "/data" is not inside "/database".
      out.append(message.substr(at, end - at));
      at = end;
      continue;
    }
    out.append(message.substr(at, found - at));
    while (end < message.size() && !ends_path(end)) ++end;
    const std::string_view path = message.substr(found, end - found);
    if (path.size() <= home.size() + 1) out += "the model library's folder";
    else if (path.find("/blobs/") != std::string_view::npos) out += "the model's weights";
    else if (path.find("/datasets/") != std::string_view::npos) out += "a dataset file";
    else if (path.find("/uploads/") != std::string_view::npos) out += "an uploaded file";
    else out += "a file of the model library";
    at = end;
  }
}

}  // namespace hearth::server
