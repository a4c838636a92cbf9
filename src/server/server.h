// server: the HTTP API (DESIGN.md §2, §4, §6).
//
// Two halves kept apart:
//   - Router (router.cpp): method + path -> handler returning a Response. Plain functions, no
//     sockets, so handlers are tested directly. Errors thrown as hearth::Error become JSON errors
//     here: {"error":"..."} on /api/* and other paths, {"error":{"message","type","code"}} on /v1/*.
//   - serve() (http_server.cpp): Boost.Beast HTTP/1.1 over Asio with one C++20 coroutine per
//     connection, keep-alive, a body limit (413), read timeouts and graceful shutdown on
//     SIGINT/SIGTERM (stop accepting, let in-flight requests finish, return). An upload route
//     (Router::add_upload) takes its body in pieces instead, within its own limit, and only
//     from a caller authenticated on the headers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hearth::server {

class ResponseStream;

// Who is asking: filled in by the router's authenticate hook before a protected handler runs.
struct Caller {
  std::int64_t user_id = 0;  // 0: not authenticated (public routes only)
  std::string username;
};

struct Request {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string target;  // "/api/tags?x=1" (path plus query)
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, names lower-case
  Caller caller;
  // Path parameters of a pattern route: "/api/personal-models/{id}" matched against
  // "/api/personal-models/7" gives {"id", "7"}.
  std::vector<std::pair<std::string, std::string>> params;
  // The peer's IP address as text ("127.0.0.1", "::1"); "" when not known (in-process calls).
  std::string client_address;

  std::string path() const;  // target without the query string
  // The first header of that (lower-case) name; "" when absent.
  std::string_view header(std::string_view lower_name) const;
  // A path parameter; "" when absent.
  std::string_view param(std::string_view name) const;
  // A query parameter's raw value ("?limit=5" -> "5"); "" when absent. Not percent-decoded:
  // the API's query parameters are numbers.
  std::string query(std::string_view key) const;
  // A query parameter as text: percent-decoded, '+' as a space ("?q=caf%C3%A9+au" -> "café au").
  // Error(invalid_input) naming the parameter for a broken escape or text that is not UTF-8.
  std::string query_text(std::string_view key) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Allow)
  // When set, the answer comes later from another thread through this stream (streaming chat,
  // pull progress, anything that must not run on the I/O thread); status, content_type, body and
  // headers above are then ignored. See response_stream.h.
  std::shared_ptr<ResponseStream> stream;
};

using Handler = std::function<Response(const Request&)>;

// A request body taken in pieces as they arrive, for a route whose bodies may be far larger than
// the server's body limit (POST /v1/files streams the upload to disk). The socket layer feeds the
// pieces in order, then calls finish() once the whole body arrived. Destroying a sink before its
// finish() succeeded undoes whatever it wrote: the upload was refused, too large or cut short.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next piece of the body; Error to refuse the upload (the error is the answer).
  virtual void write(std::string_view piece) = 0;
  // The whole body arrived: the answer; Error to refuse.
  virtual Response finish() = 0;
};

// Opens the sink for a request whose headers have arrived, after authentication (caller and
// params are filled in; the body is empty). Error to refuse before any of the body is read.
using UploadHandler = std::function<std::unique_ptr<BodySink>(const Request&)>;

// What Router::open_upload decided on a request's headers.
struct UploadStart {
  std::unique_ptr<BodySink> sink;  // null: refused, and `refusal` is the answer
  Response refusal;
  std::uint64_t limit = 0;         // most body bytes the route accepts (answer 413 beyond)
  std::string too_large;           // the 413's message
};

// The far end of an accepted WebSocket (GET /ws/desktop). The socket layer calls, on its I/O
// thread and in this order: opened() once, message() for each text frame as it arrives, and
// closed() once when the connection ends for any reason (the peer is then done with). The
// callbacks must be quick: anything that may wait (the database) goes to another thread.
class WebSocketPeer {
 public:
  // Handed to opened(): `send` queues one text frame, `close` ends the connection after the
  // frames queued before it, with a close frame carrying `reason` (`refuse` likewise, marking a
  // protocol violation). Both are safe from any thread
  // and harmless once the connection is gone.
  struct Link {
    std::function<void(std::string text)> send;
    std::function<void(std::string reason)> close;
    // As close, with the close code for a peer that broke the protocol (1008).
    std::function<void(std::string reason)> refuse;
  };
  virtual ~WebSocketPeer() = default;
  virtual void opened(Link link) = 0;
  virtual void message(std::string text) = 0;
  virtual void closed(const std::string& why) = 0;
};

// Decides on an upgrade request whose headers passed the Host/Origin checks: the peer that takes
// the connection, or Error to refuse it with a plain HTTP answer (401, 404, ...). Runs on a
// handler thread (it may wait on the database) and does its own authentication.
using WebSocketHandler = std::function<std::shared_ptr<WebSocketPeer>(const Request&)>;

struct WebSocketStart {
  std::shared_ptr<WebSocketPeer> peer;  // null: refused, and `refusal` is the answer
  Response refusal;
};

// A refusal that the client may retry later: 429 Too Many Requests with Retry-After (seconds).
class TooManyRequests : public Error {
 public:
  TooManyRequests(const std::string& message, int retry_after_s)
      : Error(ErrorKind::unavailable, message), retry_after_s_(retry_after_s) {}
  int retry_after_s() const noexcept { return retry_after_s_; }

 private:
  int retry_after_s_;
};

// HTTP status for an error kind: invalid_input 400, not_found 404, unauthorized 401, conflict
// 409, unavailable 503, unsupported/out_of_memory 400, io/corrupt_file/internal 500.
int status_for(ErrorKind kind);
// A JSON error in the shape the path's API family uses (see above).
Response error_response(std::string_view path, int status, ErrorKind kind, std::string_view message);

class Router {
 public:
  // `path` is exact ("/api/tags") or a pattern whose segments may be "{name}" (one non-empty
  // segment, captured into Request::params). Protected routes run only after authenticate()
  // (when set) has filled Request::caller; it throws Error(unauthorized) to refuse.
  void add(std::string method, std::string path, Handler handler, bool is_public = false);
  void set_authenticate(std::function<Caller(const Request&)> authenticate);
  // Sees every request and the answer handle() gives it (for counters); must not throw.
  void set_observer(std::function<void(const Request&, const Response&)> observer);
  // Every registered route as (method, path pattern), in the order added (WebSockets as GET).
  std::vector<std::pair<std::string, std::string>> patterns() const;
  // A protected route whose body streams into a BodySink instead of Request::body, with its own
  // limit of `limit` bytes instead of the server's body limit; `too_large` is the 413's message.
  void add_upload(std::string method, std::string path, UploadHandler handler, std::uint64_t limit,
                  std::string too_large);
  // Runs the matching handler; HEAD falls back to GET (the socket layer drops the body).
  // Unknown path -> 404, known path with another method -> 405 with Allow. Exceptions from a
  // handler become error responses; nothing escapes. An upload route gets Request::body as its
  // one piece.
  Response handle(const Request& request) const noexcept;

  // The socket layer's steps for an upload route, so that its body is never held whole and is
  // read only from an authenticated caller:
  //   takes_upload   on the request line: whether the body goes to a sink
  //   open_upload    on the headers: authenticates and opens the sink, or refuses
  //   write_upload   each piece: nullopt, or the refusal (then the sink is done with)
  //   finish_upload  the whole body arrived: the answer
  bool takes_upload(std::string_view method, std::string_view path) const;

  // Every registered route, in the order added: method, path pattern and whether it is an
  // upload route (for tools that walk the whole API, such as the request fuzzer).
  struct RouteInfo {
    std::string method;
    std::string path;
    bool upload = false;
  };
  std::vector<RouteInfo> routes() const;

  // A WebSocket route: an upgrade request for `path` goes to `handler` (WebSocketHandler); a
  // plain GET of it is answered 426. The socket layer asks takes_websocket() for an upgrade
  // request, then open_websocket() for its peer.
  void add_websocket(std::string path, WebSocketHandler handler);
  bool takes_websocket(std::string_view path) const;
  WebSocketStart open_websocket(const Request& request) const noexcept;
  UploadStart open_upload(const Request& request) const noexcept;
  std::optional<Response> write_upload(const Request& request, BodySink& sink,
                                       std::string_view piece) const noexcept;
  Response finish_upload(const Request& request, BodySink& sink) const noexcept;

 private:
  Response dispatch(const Request& request) const noexcept;
  Response observed(const Request& request, Response response) const noexcept;

  struct Route {
    std::string method;
    std::string path;
    Handler handler;
    bool is_public = false;
    UploadHandler upload;  // set for an upload route (handler is then empty)
    std::uint64_t upload_limit = 0;
    std::string too_large;
  };
  // The route for the request's method and path (params filled in), or the 404/405 answer.
  const Route* match(const Request& request, const std::string& path,
                     std::vector<std::pair<std::string, std::string>>& params,
                     Response& refusal) const;
  std::vector<Route> routes_;
  std::vector<std::pair<std::string, WebSocketHandler>> websockets_;
  std::function<Caller(const Request&)> authenticate_;
  std::function<void(const Request&, const Response&)> observer_;
};


struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11435;  // 0: any free port
  std::size_t body_limit = 8u << 20;
  std::chrono::seconds read_timeout{30};
  std::string tls_cert;  // PEM certificate chain and key: HTTPS when both are set
  std::string tls_key;
  // Comma-separated extra Host names accepted on a loopback listener (HEARTH_ALLOWED_HOSTS) and
  // extra origins whose pages may call the API (HEARTH_ORIGINS); see origin_guard.h.
  std::string allowed_hosts;
  std::string origins;
  // Called once listening, with the bound port (useful when port is 0).
  std::function<void(uint16_t)> on_listening;
  // Called on the I/O thread when SIGINT/SIGTERM arrives (e.g. to cancel pulls and sequences).
  std::function<void()> on_stopping;
};

// Splits "host:port", "http://host:port/" or "host" (port 11435); "[::1]:80" for IPv6.
// Error(invalid_input) for a bad port.
std::pair<std::string, uint16_t> parse_host_port(std::string_view text);
// Whether a listening address ("localhost", "127.0.0.2", "::1", ...) is loopback only.
bool is_loopback_host(std::string_view host);

// Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish and
// returns. Error(io) when the address cannot be bound.
void serve(const Router& router, const ServeOptions& options);

}  // namespace hearth::server
