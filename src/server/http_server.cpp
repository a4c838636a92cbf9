// The socket half of the server: Boost.Beast HTTP/1.1 over Asio, one C++20 coroutine per
// connection (see server.h). Expected network outcomes (end of stream, timeouts, resets) are
// error codes taken as values through as_tuple, never exceptions.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <memory>

#include "core/log.h"
#include "server/server.h"

namespace hearth::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);

// Shared by the acceptor and every session; all of it lives on the one I/O thread.
struct ServerState {
  const Router& router;
  const ServeOptions& options;
  bool stopping = false;
  struct Session {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;  // between a request fully read and its response written
  };
  std::list<Session> sessions;
};

http::response<http::string_body> to_beast(const Response& r, unsigned version, bool head) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  res.set(http::field::server, "hearth/" HEARTH_VERSION);
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.set(name, value);
  if (head) {
    res.content_length(r.body.size());
  } else {
    res.body() = r.body;
    res.prepare_payload();
  }
  return res;
}

// Reads whatever the client still sends for a short while, so closing does not reset the
// connection before it has read our answer.
net::awaitable<void> drain(beast::tcp_stream& stream) {
  stream.expires_after(std::chrono::seconds(2));
  char scratch[16384];
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), use_nothrow);
    if (ec) co_return;
  }
}

net::awaitable<void> session(beast::tcp_stream stream, ServerState& state) {
  auto self = state.sessions.insert(state.sessions.end(), ServerState::Session{&stream, false});
  beast::flat_buffer buffer;
  bool drain_before_close = false;
  while (!state.stopping) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(state.options.body_limit);
    stream.expires_after(state.options.read_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec == http::error::body_limit) {
      const std::string path(parser.get().target());
      const Response r = error_response(
          path, 413, ErrorKind::invalid_input,
          "request body is larger than the limit of " + std::to_string(state.options.body_limit) +
              " bytes");
      auto res = to_beast(r, parser.get().version(), false);
      res.keep_alive(false);
      stream.expires_after(state.options.read_timeout);
      co_await http::async_write(stream, res, use_nothrow);
      drain_before_close = true;
      break;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != net::error::operation_aborted)
        SPDLOG_DEBUG("connection closed: {}", ec.message());
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        auto res = to_beast(error_response("/", 400, ErrorKind::invalid_input,
                                           "malformed HTTP request: " + ec.message()),
                            11, false);
        res.keep_alive(false);
        stream.expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, res, use_nothrow);
      }
      break;
    }
    self->busy = true;
    auto req = parser.release();
    Request request{std::string(req.method_string()), std::string(req.target()),
                    std::move(req.body()), std::string(req[http::field::content_type])};
    const Response r = state.router.handle(request);
    SPDLOG_DEBUG("{} {} -> {}", request.method, request.target, r.status);
    auto res = to_beast(r, req.version(), req.method() == http::verb::head);
    res.keep_alive(req.keep_alive() && !state.stopping);
    stream.expires_after(state.options.read_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
    self->busy = false;
    if (wec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (drain_before_close) co_await drain(stream);
  state.sessions.erase(self);
  stream.socket().close(ignored);
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, ServerState& state) {
  auto executor = co_await net::this_coro::executor;
  while (!state.stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (state.stopping || ec == net::error::operation_aborted) break;
      SPDLOG_WARN("accept failed: {}", ec.message());
      continue;
    }
    net::co_spawn(executor, session(beast::tcp_stream(std::move(socket)), state),
                  [](std::exception_ptr e) {
                    if (!e) return;
                    try {
                      std::rethrow_exception(e);
                    } catch (const std::exception& ex) {
                      SPDLOG_ERROR("connection ended by an error: {}", ex.what());
                    }
                  });
  }
}

}  // namespace

void serve(const Router& router, const ServeOptions& options) {
  net::io_context io{1};
  ServerState state{router, options, false, {}};

  beast::error_code ec;
  const auto address = net::ip::make_address(options.host == "localhost" ? "127.0.0.1" : options.host, ec);
  if (ec) throw Error(ErrorKind::invalid_input, "host '" + options.host + "' is not an IP address");
  const tcp::endpoint endpoint{address, options.port};
  tcp::acceptor acceptor{io};
  const std::string where = options.host + ":" + std::to_string(options.port);
  if (acceptor.open(endpoint.protocol(), ec); ec)
    throw Error(ErrorKind::io, "cannot open a socket for " + where + ": " + ec.message());
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec)
    throw Error(ErrorKind::io, "cannot listen on " + where + ": " + ec.message() +
                                   " (is another server running? set HEARTH_HOST or --host)");
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec)
    throw Error(ErrorKind::io, "cannot listen on " + where + ": " + ec.message());

  net::signal_set signals{io, SIGINT, SIGTERM};
  signals.async_wait([&](const beast::error_code& error, int signal) {
    if (error) return;
    SPDLOG_INFO("signal {}: shutting down", signal);
    state.stopping = true;
    beast::error_code ignored;
    acceptor.close(ignored);
    // Idle keep-alive connections are closed now; busy ones finish their response first.
    for (auto& s : state.sessions)
      if (!s.busy) s.stream->socket().cancel(ignored);
  });

  net::co_spawn(io, accept_loop(acceptor, state), net::detached);
  if (options.on_listening) options.on_listening(acceptor.local_endpoint().port());
  io.run();
}

}  // namespace hearth::server
