// The router: method + path -> handler, errors -> JSON errors; no sockets here (see server.h).
#include <algorithm>
#include <charconv>
#include <exception>

#include "core/log.h"
#include "engine/gguf/gguf_format.h"
#include "server/json_util.h"
#include "server/server.h"

namespace hearth::server {
namespace {

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

}  // namespace

std::vector<Router::RouteInfo> Router::routes() const {
  std::vector<RouteInfo> out;
  out.reserve(routes_.size());
  for (const Route& r : routes_) out.push_back({r.method, r.path, static_cast<bool>(r.upload)});
  return out;
}

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

Response error_response(std::string_view path, int status, ErrorKind kind, std::string_view text) {
  const std::string message = public_message(text);  // never where the server keeps its files
  if (is_openai_path(path))
    return json_response(json::object{{"error", json::object{{"message", message},
                                                             {"type", openai_error_type(kind)},
                                                             {"code", error_kind_name(kind)}}}},
                         status);
  return json_response(json::object{{"error", message}}, status);
}

std::string_view Request::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return value;
  return {};
}

std::string Request::query(std::string_view key) const {
  const auto q = target.find('?');
  if (q == std::string::npos) return {};
  std::string_view rest = std::string_view(target).substr(q + 1);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

std::string Request::query_text(std::string_view key) const {
  const std::string raw = query(key);
  std::string text;
  text.reserve(raw.size());
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '+') {
      text += ' ';
    } else if (raw[i] == '%') {
      const int hi = i + 2 < raw.size() ? hex(raw[i + 1]) : -1;
      const int lo = hi >= 0 ? hex(raw[i + 2]) : -1;
      if (lo < 0)
        throw Error(ErrorKind::invalid_input,
                    "query parameter '" + std::string(key) + "' has a broken %-escape");
      text += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      text += raw[i];
    }
  }
  if (!gguf::format::is_valid_utf8(text))
    throw Error(ErrorKind::invalid_input,
                "query parameter '" + std::string(key) + "' is not UTF-8 text");
  return text;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [key, value] : params)
    if (key == name) return value;
  return {};
}

namespace {

// Matches a route path (segments may be "{name}") against a request path, filling params.
bool path_matches(std::string_view pattern, std::string_view path,
                  std::vector<std::pair<std::string, std::string>>* params) {
  if (pattern.find('{') == std::string_view::npos) return pattern == path;
  std::vector<std::pair<std::string, std::string>> found;
  while (!pattern.empty() || !path.empty()) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/')
      return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pe = std::min(pattern.find('/'), pattern.size());
    const auto se = std::min(path.find('/'), path.size());
    const std::string_view p = pattern.substr(0, pe);
    const std::string_view s = path.substr(0, se);
    if (p.size() >= 2 && p.front() == '{' && p.back() == '}') {
      if (s.empty()) return false;
      found.emplace_back(std::string(p.substr(1, p.size() - 2)), std::string(s));
    } else if (p != s) {
      return false;
    }
    pattern.remove_prefix(pe);
    path.remove_prefix(se);
  }
  if (params != nullptr) *params = std::move(found);
  return true;
}

}  // namespace

void Router::add(std::string method, std::string path, Handler handler, bool is_public) {
  routes_.push_back({std::move(method), std::move(path), std::move(handler), is_public, {}, 0, {}});
}

void Router::add_upload(std::string method, std::string path, UploadHandler handler,
                        std::uint64_t limit, std::string too_large) {
  routes_.push_back({std::move(method), std::move(path), {}, false, std::move(handler), limit,
                     std::move(too_large)});
}

void Router::set_authenticate(std::function<Caller(const Request&)> authenticate) {
  authenticate_ = std::move(authenticate);
}

void Router::set_observer(std::function<void(const Request&, const Response&)> observer) {
  observer_ = std::move(observer);
}

std::vector<std::pair<std::string, std::string>> Router::patterns() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.path);
  return out;
}

Response Router::observed(const Request& request, Response response) const noexcept {
  if (observer_) observer_(request, response);
  return response;
}

Response Router::handle(const Request& request) const noexcept {
  return observed(request, dispatch(request));
}

namespace {

// The answer for the exception being handled: hearth::Error in the path's API family's shape,
// anything else a 500. Call only inside a catch block.
Response current_error(const Request& request, const std::string& path) noexcept {
  try {
    throw;
  } catch (const TooManyRequests& e) {
    Response r = error_response(path, 429, ErrorKind::unauthorized, e.what());
    r.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s()));
    return r;
  } catch (const Error& e) {
    Response r = error_response(path, status_for(e.kind()), e.kind(), e.what());
    if (e.kind() == ErrorKind::unavailable) r.headers.emplace_back("Retry-After", "1");
    if (e.kind() == ErrorKind::unauthorized)
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"hearth\"");
    return r;
  } catch (const std::exception& e) {
    SPDLOG_ERROR("{} {}: internal error: {}", request.method, path, e.what());
    return error_response(path, 500, ErrorKind::internal, std::string("internal error: ") + e.what());
  } catch (...) {
    return error_response(path, 500, ErrorKind::internal, "internal error");
  }
}

}  // namespace

const Router::Route* Router::match(const Request& request, const std::string& path,
                                   std::vector<std::pair<std::string, std::string>>& params,
                                   Response& refusal) const {
  const Route* found = nullptr;
  std::string allow;
  for (const auto& r : routes_) {
    std::vector<std::pair<std::string, std::string>> p;
    if (!path_matches(r.path, path, &p)) continue;
    allow += (allow.empty() ? "" : ", ") + r.method;
    if (r.method == request.method && found == nullptr) {
      found = &r;
      params = std::move(p);
    }
  }
  if (found == nullptr && request.method == "HEAD")
    for (const auto& r : routes_) {
      std::vector<std::pair<std::string, std::string>> p;
      if (r.method == "GET" && !r.upload && path_matches(r.path, path, &p)) {
        found = &r;
        params = std::move(p);
        break;
      }
    }
  if (found != nullptr) return found;
  if (allow.empty()) {
    refusal = error_response(path, 404, ErrorKind::not_found,
                             request.method + " " + path + ": no such route");
  } else {
    refusal = error_response(path, 405, ErrorKind::invalid_input,
                             request.method + " is not allowed on " + path + " (use " + allow + ")");
    refusal.headers.emplace_back("Allow", allow);
  }
  return nullptr;
}

Response Router::dispatch(const Request& request) const noexcept {
  std::string path;
  try {
    path = request.path();
    std::vector<std::pair<std::string, std::string>> params;
    Response refusal;
    const Route* found = match(request, path, params, refusal);
    if (found == nullptr) return refusal;
    if (found->upload) {
      // The whole body at once, as one piece (the socket layer streams it instead).
      if (request.body.size() > found->upload_limit)
        return error_response(path, 413, ErrorKind::invalid_input, found->too_large);
      Request routed = request;
      routed.params = std::move(params);
      if (authenticate_) routed.caller = authenticate_(routed);
      routed.body.clear();
      std::unique_ptr<BodySink> sink = found->upload(routed);
      sink->write(request.body);
      return sink->finish();
    }
    if (found->is_public && !authenticate_ && params.empty()) return found->handler(request);
    Request routed = request;
    routed.params = std::move(params);
    if (!found->is_public && authenticate_) routed.caller = authenticate_(routed);
    return found->handler(routed);
  } catch (...) {
    return current_error(request, path);
  }
}

void Router::add_websocket(std::string path, WebSocketHandler handler) {
  add("GET", path, [](const Request& r) {
    Response answer = error_response(r.path(), 426, ErrorKind::invalid_input,
                                     r.path() + " is a WebSocket: connect with Upgrade: websocket");
    answer.headers.emplace_back("Upgrade", "websocket");
    return answer;
  }, true);
  websockets_.emplace_back(std::move(path), std::move(handler));
}

bool Router::takes_websocket(std::string_view path) const {
  for (const auto& [p, h] : websockets_)
    if (p == path) return true;
  return false;
}

WebSocketStart Router::open_websocket(const Request& request) const noexcept {
  WebSocketStart start;
  std::string path;
  try {
    path = request.path();
    for (const auto& [p, handler] : websockets_)
      if (p == path) {
        start.peer = handler(request);
        break;
      }
    if (!start.peer)
      start.refusal = error_response(path, 404, ErrorKind::not_found, path + ": no such WebSocket");
  } catch (...) {
    start.peer.reset();
    start.refusal = current_error(request, path);
  }
  start.refusal = start.peer ? Response{} : observed(request, std::move(start.refusal));
  return start;
}

bool Router::takes_upload(std::string_view method, std::string_view path) const {
  for (const auto& r : routes_)
    if (r.upload && r.method == method && path_matches(r.path, path, nullptr)) return true;
  return false;
}

UploadStart Router::open_upload(const Request& request) const noexcept {
  UploadStart start;
  std::string path;
  try {
    path = request.path();
    Request routed = request;
    const Route* found = match(request, path, routed.params, start.refusal);
    if (found == nullptr || !found->upload) {
      if (found != nullptr) start.refusal = dispatch(request);  // not an upload route after all
      start.refusal = observed(request, std::move(start.refusal));
      return start;
    }
    if (authenticate_) routed.caller = authenticate_(routed);
    start.limit = found->upload_limit;
    start.too_large = found->too_large;
    start.sink = found->upload(routed);
  } catch (...) {
    start.sink.reset();
    start.refusal = observed(request, current_error(request, path));
  }
  return start;
}

std::optional<Response> Router::write_upload(const Request& request, BodySink& sink,
                                             std::string_view piece) const noexcept {
  try {
    sink.write(piece);
    return std::nullopt;
  } catch (...) {
    return observed(request, current_error(request, request.path()));
  }
}

Response Router::finish_upload(const Request& request, BodySink& sink) const noexcept {
  try {
    return observed(request, sink.finish());
  } catch (...) {
    return observed(request, current_error(request, request.path()));
  }
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
