// The socket half of the server: Boost.Beast HTTP/1.1 over Asio (plain TCP or TLS), one C++20
// coroutine per connection (see server.h). Expected network outcomes (end of stream, timeouts,
// resets) are error codes taken as values through as_tuple, never exceptions.
//
// A handler's Response either carries its body, or a ResponseStream that another thread fills
// (response_stream.h). For a stream the connection waits on a timer that the producer's wake-up
// cancels (posted to this thread), and meanwhile watches the socket: a client that closes its end
// cancels the stream at once, so its sequence stops within one decode step.
//
// The I/O thread never runs a handler: handlers may wait on the database (a query, a lock held
// by another process), so every routed request runs on the handler pool and its connection's
// coroutine resumes on the I/O thread to write the answer. A request that waits for the
// database holds one pool thread and nothing else; other connections keep being answered.
//
// A request's headers are read first. Most bodies are then read whole within the body limit;
// an upload route's body streams into its sink instead (upload_reader.h), after the router
// has authenticated the caller on the headers.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <optional>

#include "core/log.h"
#include "server/origin_guard.h"
#include "server/response_stream.h"
#include "server/server.h"
#include "server/upload_reader.h"
#include "server/websocket_session.h"

namespace hearth::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;
constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
// A client that reads nothing for this long while we write is given up.
constexpr std::chrono::seconds session_write_timeout{60};
// Threads that run handlers. Most of a handler's time is spent waiting (the database, files),
// not computing, so there are more of them than cores: a few requests stuck behind a busy
// database leave plenty for everyone else.
constexpr int handler_threads = 16;

// Lets a producer thread wake the connection's coroutine, and stops doing so once the
// connection is gone (the io_context may be destroyed while a producer still runs).
struct Wakeup {
  std::mutex mutex;
  bool alive = true;
  net::any_io_executor executor;
  std::shared_ptr<net::steady_timer> timer;

  void wake() {
    std::lock_guard lock(mutex);
    if (!alive) return;
    net::post(executor, [t = timer] { t->cancel(); });
  }
  void detach() {
    std::lock_guard lock(mutex);
    alive = false;
  }
};

// Shared by the acceptor and every session; all of it lives on the one I/O thread.
struct ServerState {
  const Router& router;
  const ServeOptions& options;
  net::thread_pool& handlers;  // runs Router::handle, off the I/O thread
  OriginPolicy origins;
  bool stopping = false;
  struct Session {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;  // between a request fully read and its response written
    std::shared_ptr<ResponseStream> response;  // while streaming
    std::shared_ptr<Wakeup> wakeup;
  };
  std::list<Session> sessions;
};

void set_common(http::response_header<>& h, int status, const std::string& content_type,
                const std::vector<std::pair<std::string, std::string>>& headers) {
  h.result(static_cast<http::status>(status));
  h.set(http::field::server, "hearth/" HEARTH_VERSION);
  h.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) h.set(name, value);
}

http::response<http::string_body> to_beast(int status, const std::string& content_type,
                                           const std::vector<std::pair<std::string, std::string>>& headers,
                                           std::string body, unsigned version, bool head) {
  http::response<http::string_body> res;
  res.version(version);
  set_common(res.base(), status, content_type, headers);
  if (head) {
    res.content_length(body.size());
  } else {
    res.body() = std::move(body);
    res.prepare_payload();
  }
  return res;
}

http::response<http::string_body> to_beast(const Response& r, unsigned version, bool head) {
  return to_beast(r.status, r.content_type, r.headers, r.body, version, head);
}

beast::tcp_stream& tcp_layer(beast::tcp_stream& s) { return s; }
beast::tcp_stream& tcp_layer(beast::ssl_stream<beast::tcp_stream>& s) { return s.next_layer(); }

// Reads whatever the client still sends for a short while, so closing does not reset the
// connection before it has read our answer.
template <class Stream>
net::awaitable<void> drain(Stream& stream) {
  tcp_layer(stream).expires_after(std::chrono::seconds(2));
  char scratch[16384];
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), use_nothrow);
    if (ec) co_return;
  }
}

// Completes when the client has closed its end (then cancels the response) or when cancelled.
// Peeks without consuming, so a pipelined request stays for the next read.
net::awaitable<void> watch_client(tcp::socket& socket, ResponseStream& response) {
  for (;;) {
    auto [ec] = co_await socket.async_wait(tcp::socket::wait_read, use_nothrow);
    if (ec == net::error::operation_aborted) co_return;
    char c;
    const ssize_t n = ec ? -1 : ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) break;  // bytes of a next request (or a TLS alert): stop watching
    if (n < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    response.cancel();
    co_return;
  }
  net::steady_timer forever(co_await net::this_coro::executor, net::steady_timer::time_point::max());
  co_await forever.async_wait(use_nothrow);
}

// Writes a streamed response: waits for the head, then either one whole response (everything
// arrived already) or chunks as they come. False when the connection must close.
template <class Stream>
net::awaitable<bool> write_stream(Stream& stream, ServerState::Session& session,
                                  unsigned version, bool head_only, bool keep_alive,
                                  const ResponseStream::Headers& extra_headers) {
  ResponseStream& response = *session.response;
  net::steady_timer& timer = *session.wakeup->timer;
  auto wait = [&]() -> net::awaitable<void> {
    timer.expires_at(net::steady_timer::time_point::max());
    co_await timer.async_wait(use_nothrow);
  };
  ResponseStream::Taken head;
  std::string body;
  bool finished = false;
  while (!head.has_head) {
    auto t = response.take();
    if (t.has_head) head = std::move(t);
    else if (response.cancelled()) co_return false;
    else co_await wait();
  }
  body = std::move(head.data);
  finished = head.finished;
  head.headers.insert(head.headers.end(), extra_headers.begin(), extra_headers.end());
  auto& tcp = tcp_layer(stream);
  tcp.expires_never();  // a stream may be quiet for long (a model loading); the watcher guards it
  if (finished || head_only) {
    auto res = to_beast(head.status, head.content_type, head.headers, std::move(body), version, head_only);
    res.keep_alive(keep_alive && finished);
    tcp.expires_after(session_write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_nothrow);
    if (!finished) response.cancel();
    co_return !ec && keep_alive && finished;
  }
  http::response<http::empty_body> res;
  res.version(version);
  set_common(res.base(), head.status, head.content_type, head.headers);
  res.set(http::field::cache_control, "no-cache");
  res.chunked(true);
  res.keep_alive(keep_alive);
  http::response_serializer<http::empty_body> serializer{res};
  tcp.expires_after(session_write_timeout);
  if (auto [ec, n] = co_await http::async_write_header(stream, serializer, use_nothrow); ec)
    co_return false;
  for (;;) {
    if (!body.empty()) {
      tcp.expires_after(session_write_timeout);
      auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(body)), use_nothrow);
      if (ec) co_return false;
      body.clear();
    }
    if (finished) break;
    if (response.cancelled()) break;  // the server is stopping: end the stream cleanly
    auto t = response.take();
    if (t.data.empty() && !t.finished) {
      co_await wait();
      continue;
    }
    body = std::move(t.data);
    finished = t.finished;
  }
  tcp.expires_after(session_write_timeout);
  auto [ec, n] = co_await net::async_write(stream, http::make_chunk_last(), use_nothrow);
  co_return !ec && keep_alive && finished;
}

template <class Stream>
net::awaitable<void> session(Stream& stream, ServerState& state) {
  auto& tcp = tcp_layer(stream);
  auto self = state.sessions.insert(state.sessions.end(), ServerState::Session{&tcp, false, {}, {}});
  beast::flat_buffer buffer;
  bool drain_before_close = false;
  const auto executor = co_await net::this_coro::executor;
  while (!state.stopping) {
    // The headers first: they say whether the body is read whole within the body limit, or
    // streamed to an upload route's sink within that route's own limit (upload_reader.h).
    http::request_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    tcp.expires_after(state.options.read_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    bool upload = false;
    if (!ec) {
      const std::string_view target(parser.get().target().data(), parser.get().target().size());
      upload = state.router.takes_upload(std::string(parser.get().method_string()),
                                         target.substr(0, target.find_first_of("?#")));
    }
    if (!ec && !upload) {
      parser.body_limit(state.options.body_limit);
      const auto length = parser.content_length();
      if (length && *length > state.options.body_limit) {
        ec = http::error::body_limit;
      } else {
        auto [body_ec, body_n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        ec = body_ec;
      }
    }
    if (ec == http::error::body_limit) {
      const std::string path(parser.get().target());
      const Response r = error_response(
          path, 413, ErrorKind::invalid_input,
          "request body is larger than the limit of " + std::to_string(state.options.body_limit) +
              " bytes");
      auto res = to_beast(r, parser.get().version(), false);
      res.keep_alive(false);
      tcp.expires_after(state.options.read_timeout);
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
        tcp.expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, res, use_nothrow);
      }
      break;
    }
    self->busy = true;
    auto& req = parser.get();
    Request request{std::string(req.method_string()), std::string(req.target()),
                    std::move(req.body()), std::string(req[http::field::content_type]), {}, {}, {}, {}};
    {
      // The peer's address: failed authentications are counted per address (auth.h).
      boost::system::error_code peer_ec;
      const auto peer = tcp.socket().remote_endpoint(peer_ec);
      if (!peer_ec) {
        const auto address = peer.address();
        // An IPv4 peer on a dual-stack socket counts as its IPv4 address.
        request.client_address = address.is_v6() && address.to_v6().is_v4_mapped()
                                     ? net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string()
                                     : address.to_string();
      }
    }
    // Read now: an upload hands the parser's message on to read its body.
    const unsigned version = req.version();
    const bool head_only = req.method() == http::verb::head;
    const bool wants_keep_alive = req.keep_alive();
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    // Every request passes these checks before anything acts on it: the routes, and any
    // WebSocket upgrade handled here later, must be just as unreachable for a foreign page.
    std::optional<Response> early = screen_request(state.origins, request);
    const auto cors = early ? ResponseStream::Headers{} : cors_headers(state.origins, request);
    Response r;
    bool close_after = false;  // an upload whose body was not read to its end
    const bool websocket_upgrade = !early && !upload && beast::websocket::is_upgrade(req) &&
                                   state.router.takes_websocket(request.path());
    if (early) {
      r = std::move(*early);
      close_after = upload;
    } else if (websocket_upgrade) {
      // The peer is chosen (and the caller authenticated) on a handler thread; once accepted,
      // the connection is the WebSocket's until it ends (websocket_session.h).
      WebSocketStart start = co_await net::co_spawn(
          state.handlers,
          [&]() -> net::awaitable<WebSocketStart> { co_return state.router.open_websocket(request); },
          net::use_awaitable);
      if (start.peer && !state.stopping) {
        self->busy = false;
        co_await websocket_session::run(std::move(stream), parser.release(), start.peer,
                                        [&](beast::tcp_stream* s) { self->stream = s; });
        state.sessions.erase(self);
        co_return;
      }
      r = start.peer ? error_response(request.path(), 503, ErrorKind::unavailable,
                                       "the server is stopping")
                     : std::move(start.refusal);
      close_after = true;
    } else if (upload) {
      auto outcome = co_await upload_reader::read(stream, tcp, buffer, parser, state.router, request,
                                                  state.handlers, state.options.read_timeout);
      r = std::move(outcome.response);
      close_after = outcome.close;
    } else {
      // (A plain statement, not inside ?: — g++ 12 mishandles temporaries around a co_await
      // in a conditional expression.)
      r = co_await net::co_spawn(
          state.handlers,
          [&]() -> net::awaitable<Response> { co_return state.router.handle(request); },
          net::use_awaitable);
    }
    if (!r.stream) r.headers.insert(r.headers.end(), cors.begin(), cors.end());
    const bool keep_alive = wants_keep_alive && !state.stopping && !close_after;
    if (close_after) drain_before_close = true;
    bool keep = false;
    if (r.stream) {
      auto wakeup = std::make_shared<Wakeup>();
      wakeup->executor = executor;
      wakeup->timer = std::make_shared<net::steady_timer>(executor);
      self->response = r.stream;
      self->wakeup = wakeup;
      r.stream->set_waker([wakeup] { wakeup->wake(); });
      auto outcome = co_await (write_stream(stream, *self, version, head_only, keep_alive, cors) ||
                               watch_client(tcp.socket(), *r.stream));
      keep = outcome.index() == 0 && std::get<0>(outcome);
      if (outcome.index() == 1 || !keep) r.stream->cancel();
      wakeup->detach();
      r.stream->set_waker({});
      self->response.reset();
      self->wakeup.reset();
      SPDLOG_DEBUG("{} {} -> stream ({})", request.method, request.target,
                   outcome.index() == 1 ? "client gone" : "done");
    } else {
      SPDLOG_DEBUG("{} {} -> {}", request.method, request.target, r.status);
      auto res = to_beast(r, version, head_only);
      res.keep_alive(keep_alive);
      tcp.expires_after(session_write_timeout);
      auto [wec, wn] = co_await http::async_write(stream, res, use_nothrow);
      keep = !wec && res.keep_alive();
    }
    self->busy = false;
    if (!keep) break;
  }
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    tcp.expires_after(std::chrono::seconds(2));
    co_await stream.async_shutdown(use_nothrow);
  }
  beast::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (drain_before_close) co_await drain(stream);
  state.sessions.erase(self);
  tcp.socket().close(ignored);
}

net::awaitable<void> plain_session(tcp::socket socket, ServerState& state) {
  beast::tcp_stream stream(std::move(socket));
  co_await session(stream, state);
}

net::awaitable<void> tls_session(tcp::socket socket, ssl::context& tls, ServerState& state) {
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
  stream.next_layer().expires_after(state.options.read_timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
  if (ec) {
    SPDLOG_DEBUG("TLS handshake failed: {}", ec.message());
    co_return;
  }
  co_await session(stream, state);
}

net::awaitable<void> accept_loop(tcp::acceptor& acceptor, ssl::context* tls, ServerState& state) {
  auto executor = co_await net::this_coro::executor;
  long accept_failures = 0;
  while (!state.stopping) {
    auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
    if (ec) {
      if (state.stopping || ec == net::error::operation_aborted) break;
      // Out of file descriptors (or another lasting failure): accepting again at once would fail
      // again at once, a busy loop that floods the log. The connection waits in the backlog; a
      // short pause lets sessions end (idle ones by the read timeout) and free descriptors.
      if (++accept_failures == 1 || accept_failures % 100 == 0)
        SPDLOG_WARN("accept failed ({} times in a row): {}", accept_failures, ec.message());
      net::steady_timer pause(executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    accept_failures = 0;
    auto on_end = [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        SPDLOG_ERROR("connection ended by an error: {}", ex.what());
      }
    };
    if (tls != nullptr)
      net::co_spawn(executor, tls_session(std::move(socket), *tls, state), on_end);
    else
      net::co_spawn(executor, plain_session(std::move(socket), state), on_end);
  }
}

std::unique_ptr<ssl::context> make_tls_context(const ServeOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty())
    throw Error(ErrorKind::invalid_input, "TLS needs both --tls-cert and --tls-key");
  if (options.tls_cert.empty()) return nullptr;
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (tls->use_certificate_chain_file(options.tls_cert, ec); ec)
    throw Error(ErrorKind::invalid_input,
                "cannot read the TLS certificate '" + options.tls_cert + "': " + ec.message());
  if (tls->use_private_key_file(options.tls_key, ssl::context::pem, ec); ec)
    throw Error(ErrorKind::invalid_input,
                "cannot read the TLS key '" + options.tls_key + "': " + ec.message());
  return tls;
}

// Every connection holds a descriptor; many systems start processes with a soft limit of 1024,
// which a few hundred idle clients and the model files would exhaust. The hard limit is ours to
// take.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  // (An unlimited hard limit still stops at the kernel's nr_open, 2^20 by default.)
  const rlim_t wanted = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0)
    SPDLOG_WARN("cannot raise the open-file limit to {}: {}", static_cast<unsigned long long>(wanted),
                std::strerror(errno));
}

}  // namespace

void serve(const Router& router, const ServeOptions& options) {
  raise_descriptor_limit();
  net::io_context io{1};
  // Declared after io: destroyed (its threads joined) before the io_context it resumes on.
  net::thread_pool handlers{handler_threads};
  const auto tls = make_tls_context(options);
  ServerState state{
      router,
      options,
      handlers,
      make_origin_policy(options.host, tls != nullptr, options.allowed_hosts, options.origins),
      false,
      {}};

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
    // Idle keep-alive connections are closed now; busy ones finish their response first, and
    // streams end at once (their producers see the cancel and stop).
    for (auto& s : state.sessions) {
      if (s.response) {
        s.response->cancel();
        s.wakeup->wake();
      } else if (!s.busy && s.stream != nullptr) {
        s.stream->socket().cancel(ignored);
      }
    }
    if (options.on_stopping) options.on_stopping();
  });

  net::co_spawn(io, accept_loop(acceptor, tls.get(), state), net::detached);
  if (options.on_listening) options.on_listening(acceptor.local_endpoint().port());
  io.run();
}

}  // namespace hearth::server
