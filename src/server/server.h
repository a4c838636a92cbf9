// server: the HTTP API (DESIGN.md §2, §4, §6). This first slice serves the read-only routes;
// inference, the scheduler, auth and streaming come later.
//
// Two halves kept apart:
//   - Router (router.cpp): method + path -> handler returning a Response. Plain functions, no
//     sockets, so handlers are tested directly. Errors thrown as hearth::Error become JSON errors
//     here: {"error":"..."} on /api/* and other paths, {"error":{"message","type","code"}} on /v1/*.
//   - serve() (http_server.cpp): Boost.Beast HTTP/1.1 over Asio with one C++20 coroutine per
//     connection, keep-alive, a body limit (413), read timeouts and graceful shutdown on
//     SIGINT/SIGTERM (stop accepting, let in-flight requests finish, return).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hearth::store {
class Store;
}

namespace hearth::server {

struct Request {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string target;  // "/api/tags?x=1" (path plus query)
  std::string body;
  std::string content_type;
  std::string path() const;  // target without the query string
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Allow)
};

using Handler = std::function<Response(const Request&)>;

// HTTP status for an error kind: invalid_input 400, not_found 404, unauthorized 401, conflict
// 409, unavailable 503, unsupported/out_of_memory 400, io/corrupt_file/internal 500.
int status_for(ErrorKind kind);
// A JSON error in the shape the path's API family uses (see above).
Response error_response(std::string_view path, int status, ErrorKind kind, std::string_view message);
// Parses a request body that must be one JSON object; Error(invalid_input) saying what is wrong
// otherwise.
void check_json_object(std::string_view body);

class Router {
 public:
  void add(std::string method, std::string path, Handler handler);
  // Runs the matching handler; HEAD falls back to GET (the socket layer drops the body).
  // Unknown path -> 404, known path with another method -> 405 with Allow. Exceptions from a
  // handler become error responses; nothing escapes.
  Response handle(const Request& request) const noexcept;

 private:
  struct Route {
    std::string method;
    std::string path;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// The API routes over this store: GET/HEAD /, GET /api/version, GET /api/tags, GET /v1/models.
// The store must outlive the router.
Router make_api_router(const store::Store& store);

struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11435;  // 0: any free port
  std::size_t body_limit = 8u << 20;
  std::chrono::seconds read_timeout{30};
  // Called once listening, with the bound port (useful when port is 0).
  std::function<void(uint16_t)> on_listening;
};

// Splits "host:port", "http://host:port/" or "host" (port 11435); "[::1]:80" for IPv6.
// Error(invalid_input) for a bad port.
std::pair<std::string, uint16_t> parse_host_port(std::string_view text);

// Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish and
// returns. Error(io) when the address cannot be bound.
void serve(const Router& router, const ServeOptions& options);

}  // namespace hearth::server
