// The socket side of an upload route (Router::add_upload), for http_server.cpp only: the body of
// such a request is read in pieces into the route's BodySink, never whole, within the route's
// own limit instead of the server's body limit.
//
// Order matters for safety: the caller is authenticated on the headers (Router::open_upload)
// before a single byte of the body is read, so a request without a valid token cannot make the
// server write anything. The sink's work (disk writes, the final checks) runs on the handler
// pool, like every handler; only the socket reads happen on the I/O thread.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "server/server.h"

namespace hearth::server::upload_reader {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;

struct Outcome {
  Response response;
  bool close = false;  // the body was not read to its end: answer, then close the connection
};

// Bytes asked of the socket per piece handed to the sink.
constexpr std::size_t piece_bytes = 256 * 1024;

// Runs `fn` on the handler pool and resumes with its result.
template <class Fn>
auto on_pool(net::thread_pool& pool, Fn fn) -> net::awaitable<decltype(fn())> {
  using T = decltype(fn());
  co_return co_await net::co_spawn(
      pool, [&]() -> net::awaitable<T> { co_return fn(); }, net::use_awaitable);
}

// `header` has read the request's headers and nothing of its body; `request` is built from them.
template <class Stream>
net::awaitable<Outcome> read(Stream& stream, beast::tcp_stream& tcp, beast::flat_buffer& buffer,
                             http::request_parser<http::string_body>& header,
                             const Router& router, const Request& request, net::thread_pool& pool,
                             std::chrono::seconds read_timeout) {
  constexpr auto nothrow = net::as_tuple(net::use_awaitable);
  UploadStart start = co_await on_pool(pool, [&] { return router.open_upload(request); });
  if (!start.sink) co_return Outcome{std::move(start.refusal), true};
  const std::string path = request.path();
  auto too_large = [&] {
    return Outcome{error_response(path, 413, ErrorKind::invalid_input, start.too_large), true};
  };
  if (const auto length = header.content_length(); length && *length > start.limit)
    co_return too_large();
  // A client that asked whether to go on (curl does for large bodies) is told to.
  if (beast::iequals(header.get()[http::field::expect], "100-continue")) {
    http::response<http::empty_body> go_on{http::status::continue_, header.get().version()};
    tcp.expires_after(read_timeout);
    if (auto [ec, n] = co_await http::async_write(stream, go_on, nothrow); ec)
      co_return Outcome{{}, true};
  }
  http::request_parser<http::buffer_body> body{std::move(header)};
  body.body_limit(boost::none);  // counted below against the route's own limit
  std::vector<char> piece(piece_bytes);
  std::uint64_t total = 0;
  while (!body.is_done()) {
    body.get().body().data = piece.data();
    body.get().body().size = piece.size();
    // Each piece has the whole read timeout: a large upload takes long, a stalled one does not.
    tcp.expires_after(read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, body, nothrow);
    if (ec == http::error::need_buffer) ec = {};
    if (ec)
      co_return Outcome{error_response(path, 400, ErrorKind::invalid_input,
                                       "the upload ended before its whole body arrived (" +
                                           ec.message() + ")"),
                        true};
    const std::size_t got = piece.size() - body.get().body().size;
    total += got;
    if (total > start.limit) co_return too_large();
    if (got == 0) continue;
    std::optional<Response> refused = co_await on_pool(pool, [&] {
      return router.write_upload(request, *start.sink, std::string_view(piece.data(), got));
    });
    if (refused) co_return Outcome{std::move(*refused), true};
  }
  Response answer = co_await on_pool(pool, [&] { return router.finish_upload(request, *start.sink); });
  co_return Outcome{std::move(answer), false};
}

}  // namespace hearth::server::upload_reader
