// The router and the API handlers: no sockets here (see server.h).
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <exception>

#include "core/log.h"
#include "engine/gguf/gguf.h"
#include "server/server.h"
#include "store/store.h"

namespace hearth::server {
namespace {

namespace json = boost::json;

bool is_openai_path(std::string_view path) { return path.rfind("/v1/", 0) == 0 || path == "/v1"; }

std::string_view openai_error_type(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
    case ErrorKind::unsupported:
    case ErrorKind::out_of_memory:
    case ErrorKind::not_found:
    case ErrorKind::conflict: return "invalid_request_error";
    case ErrorKind::unauthorized: return "authentication_error";
    default: return "server_error";
  }
}

Response json_response(const json::value& value, int status = 200) {
  Response r;
  r.status = status;
  r.body = json::serialize(value);
  return r;
}

// "2025-06-01T12:00:00Z" (fraction optional) -> seconds since the epoch; 0 when unreadable.
std::int64_t parse_iso_time(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm));
}

std::string_view digest_hex(std::string_view digest) {
  if (digest.rfind("sha256:", 0) == 0) digest.remove_prefix(7);
  return digest;
}

const store::BlobRef* model_blob(const store::Manifest& m) {
  for (const auto& b : m.blobs)
    if (b.media_type == "model") return &b;
  return m.blobs.empty() ? nullptr : &m.blobs.front();
}

// Ollama's "details": what the GGUF header says, when it can be read; never fails.
json::object model_details(const store::Store& store, const store::Manifest& m) {
  json::object d;
  d["parent_model"] = m.base_model;
  d["format"] = "gguf";
  d["family"] = "";
  const store::BlobRef* blob = model_blob(m);
  if (blob == nullptr) return d;
  try {
    const auto file = gguf::File::open(store.blob_path(blob->digest));
    if (auto arch = file.get_string("general.architecture")) {
      d["family"] = *arch;
      d["families"] = json::array{json::string(*arch)};
    }
    if (auto size = file.get_string("general.size_label")) d["parameter_size"] = *size;
  } catch (const std::exception& e) {
    SPDLOG_DEBUG("{}: no GGUF details: {}", m.full_name(), e.what());
  }
  return d;
}

Response get_tags(const store::Store& store) {
  json::array models;
  for (const auto& m : store.list()) {
    const store::BlobRef* blob = model_blob(m);
    json::object o;
    o["name"] = m.full_name();
    o["model"] = m.full_name();
    o["modified_at"] = m.created_at;
    o["size"] = m.total_size();
    o["digest"] = blob ? std::string(digest_hex(blob->digest)) : std::string();
    o["details"] = model_details(store, m);
    models.emplace_back(std::move(o));
  }
  return json_response(json::object{{"models", std::move(models)}});
}

Response get_openai_models(const store::Store& store) {
  json::array data;
  for (const auto& m : store.list())
    data.emplace_back(json::object{{"id", m.full_name()},
                                   {"object", "model"},
                                   {"created", parse_iso_time(m.created_at)},
                                   {"owned_by", "hearth"}});
  return json_response(json::object{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace

std::string Request::path() const {
  const auto q = target.find_first_of("?#");
  return q == std::string::npos ? target : target.substr(0, q);
}

int status_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input:
    case ErrorKind::unsupported:
    case ErrorKind::out_of_memory: return 400;
    case ErrorKind::unauthorized: return 401;
    case ErrorKind::not_found: return 404;
    case ErrorKind::conflict: return 409;
    case ErrorKind::unavailable: return 503;
    default: return 500;
  }
}

Response error_response(std::string_view path, int status, ErrorKind kind, std::string_view message) {
  if (is_openai_path(path))
    return json_response(json::object{{"error", json::object{{"message", message},
                                                             {"type", openai_error_type(kind)},
                                                             {"code", error_kind_name(kind)}}}},
                         status);
  return json_response(json::object{{"error", message}}, status);
}

void check_json_object(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) throw Error(ErrorKind::invalid_input, "invalid JSON in request body: " + ec.message());
  if (!v.is_object())
    throw Error(ErrorKind::invalid_input, "request body must be a JSON object");
}

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler)});
}

Response Router::handle(const Request& request) const noexcept {
  std::string path;
  try {
    path = request.path();
    const Route* match = nullptr;
    std::string allow;
    for (const auto& r : routes_) {
      if (r.path != path) continue;
      allow += (allow.empty() ? "" : ", ") + r.method;
      if (r.method == request.method) match = &r;
    }
    if (match == nullptr && request.method == "HEAD")
      for (const auto& r : routes_)
        if (r.path == path && r.method == "GET") match = &r;
    if (match == nullptr) {
      if (allow.empty())
        return error_response(path, 404, ErrorKind::not_found,
                              request.method + " " + path + ": no such route");
      Response r = error_response(path, 405, ErrorKind::invalid_input,
                                  request.method + " is not allowed on " + path + " (use " + allow + ")");
      r.headers.emplace_back("Allow", allow);
      return r;
    }
    return match->handler(request);
  } catch (const Error& e) {
    return error_response(path, status_for(e.kind()), e.kind(), e.what());
  } catch (const std::exception& e) {
    SPDLOG_ERROR("{} {}: internal error: {}", request.method, path, e.what());
    return error_response(path, 500, ErrorKind::internal, std::string("internal error: ") + e.what());
  } catch (...) {
    return error_response(path, 500, ErrorKind::internal, "internal error");
  }
}

Router make_api_router(const store::Store& store) {
  Router router;
  router.add("GET", "/", [](const Request&) {
    Response r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "hearth is running";
    return r;
  });
  router.add("GET", "/api/version", [](const Request&) {
    return json_response(json::object{{"version", HEARTH_VERSION}});
  });
  router.add("GET", "/api/tags", [&store](const Request&) { return get_tags(store); });
  router.add("GET", "/v1/models", [&store](const Request&) { return get_openai_models(store); });
  return router;
}

std::pair<std::string, uint16_t> parse_host_port(std::string_view text) {
  std::string_view s = text;
  if (auto p = s.find("://"); p != std::string_view::npos) s.remove_prefix(p + 3);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  std::string host;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos)
      throw Error(ErrorKind::invalid_input, "host '" + std::string(text) + "': missing ']'");
    host = std::string(s.substr(1, close - 1));
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        throw Error(ErrorKind::invalid_input, "host '" + std::string(text) + "': expected ':port'");
      port_text = rest.substr(1);
    }
  } else if (auto colon = s.rfind(':'); colon != std::string_view::npos) {
    host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
  } else {
    host = std::string(s);
  }
  if (host.empty()) host = "127.0.0.1";
  uint16_t port = 11435;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value > 65535)
      throw Error(ErrorKind::invalid_input,
                  "host '" + std::string(text) + "': port must be a number from 0 to 65535");
    port = static_cast<uint16_t>(value);
  }
  return {host, port};
}

}  // namespace hearth::server
