// The socket half of an accepted WebSocket (server.h's WebSocketPeer), included only by
// http_server.cpp so that Beast's WebSocket code is compiled once.
//
// Shape: the connection's stream moves into a websocket::stream; one coroutine reads frames and
// hands each to the peer, another writes the frames the peer queued (from any thread) through
// an Outbox whose timer the producers cancel to wake it. Beast's own timeouts guard the rest:
// the handshake, and a peer silent for kIdle (it is pinged halfway through) is closed.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "server/server.h"

namespace hearth::server::websocket_session {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

constexpr std::chrono::seconds kHandshake{10};
constexpr std::chrono::seconds kIdle{15};
constexpr std::size_t kMaxMessage = 16u << 20;

// Frames queued by any thread for the writer coroutine; inert once the connection is gone.
struct Outbox {
  std::mutex mutex;
  std::deque<std::string> frames;
  std::optional<std::string> close_reason;
  bool violation = false;  // the close is for a protocol violation (1008), not a normal end
  bool alive = true;
  net::any_io_executor executor;
  std::shared_ptr<net::steady_timer> timer;

  void push(std::string frame) {
    std::lock_guard lock(mutex);
    if (!alive || close_reason) return;
    frames.push_back(std::move(frame));
    net::post(executor, [t = timer] { t->cancel(); });
  }
  void close(std::string reason, bool protocol_violation = false) {
    std::lock_guard lock(mutex);
    if (!alive || close_reason) return;
    close_reason = std::move(reason);
    violation = protocol_violation;
    net::post(executor, [t = timer] { t->cancel(); });
  }
  // The connection is over (on its I/O thread, after the writer stopped): later pushes are
  // dropped, and the timer goes now, while its io_context surely still exists.
  void detach() {
    std::lock_guard lock(mutex);
    alive = false;
    timer.reset();
  }
};

// A close frame's reason holds at most 123 bytes: cut at a character boundary (a peer refuses
// a reason that is not UTF-8).
inline std::string short_reason(const std::string& text) {
  if (text.size() <= 120) return text;
  std::size_t end = 120;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

// Reads frames into `on_text` and writes the outbox's frames until either side ends the
// connection (or the outbox asks to close); returns why it ended. Shared by the hub's side
// (run() below) and the agent's (agent/connection.cpp).
template <class WebSocket>
net::awaitable<std::string> pump(WebSocket& ws, const std::shared_ptr<Outbox>& outbox,
                                 const std::function<void(std::string)>& on_text) {
  using namespace net::experimental::awaitable_operators;
  constexpr auto nothrow = net::as_tuple(net::use_awaitable);
  std::string why;
  auto reader = [&]() -> net::awaitable<void> {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, nothrow);
      if (ec) {
        if (!why.empty()) co_return;  // the writer ended it first, and said why
        why = ec == websocket::error::closed ? std::string("the other side closed the connection")
                                             : ec.message();
        if (ec == websocket::error::closed && !ws.reason().reason.empty())
          why += " (" + std::string(ws.reason().reason.data(), ws.reason().reason.size()) + ")";
        co_return;
      }
      if (!ws.got_text()) {
        why = "a binary frame (the protocol sends JSON text)";
        outbox->close(why, true);
        co_return;
      }
      on_text(beast::buffers_to_string(buffer.data()));
      buffer.consume(buffer.size());
    }
  };
  auto writer = [&]() -> net::awaitable<void> {
    for (;;) {
      std::deque<std::string> frames;
      std::optional<std::string> close;
      bool violation = false;
      {
        std::lock_guard lock(outbox->mutex);
        frames.swap(outbox->frames);
        close = outbox->close_reason;
        violation = outbox->violation;
      }
      for (auto& frame : frames) {
        ws.text(true);
        if (auto [ec, n] = co_await ws.async_write(net::buffer(frame), nothrow); ec) {
          if (why.empty()) why = ec.message();
          co_return;
        }
      }
      if (close) {
        websocket::close_reason reason(violation ? websocket::close_code::policy_error
                                                 : websocket::close_code::normal);
        reason.reason = short_reason(*close);
        why = *close;
        co_await ws.async_close(reason, nothrow);
        co_return;
      }
      {
        // A push that came while we wrote posted its wake-up before the timer waited, which
        // would be lost: look again first. Nothing else runs on this thread between this check
        // and the wait, so a later push's wake-up finds the timer waiting.
        std::lock_guard lock(outbox->mutex);
        if (!outbox->frames.empty() || outbox->close_reason) continue;
      }
      outbox->timer->expires_at(net::steady_timer::time_point::max());
      co_await outbox->timer->async_wait(nothrow);
    }
  };
  co_await (reader() || writer());
  outbox->detach();
  co_return why;
}

// An outbox whose timer lives on the current coroutine's executor.
inline net::awaitable<std::shared_ptr<Outbox>> make_outbox() {
  const auto executor = co_await net::this_coro::executor;
  auto outbox = std::make_shared<Outbox>();
  outbox->executor = executor;
  outbox->timer = std::make_shared<net::steady_timer>(executor);
  co_return outbox;
}

// The hub's side: accepts the upgrade and runs the WebSocket until either side ends it.
// `lowest` is told the new TCP layer (the server cancels it when stopping).
template <class Stream>
net::awaitable<void> run(Stream stream, beast::http::request<beast::http::string_body> upgrade,
                         std::shared_ptr<WebSocketPeer> peer,
                         const std::function<void(beast::tcp_stream*)>& lowest) {
  constexpr auto nothrow = net::as_tuple(net::use_awaitable);
  websocket::stream<Stream> ws(std::move(stream));
  beast::get_lowest_layer(ws).expires_never();  // the WebSocket's own timeouts take over
  // Small frames (a piece, a cancel) go out at once instead of waiting for an ACK.
  beast::error_code ignored;
  beast::get_lowest_layer(ws).socket().set_option(net::ip::tcp::no_delay(true), ignored);
  lowest(&beast::get_lowest_layer(ws));
  ws.set_option(websocket::stream_base::timeout{kHandshake, kIdle, true});
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "hearth/" HEARTH_VERSION);
  }));
  ws.read_message_max(kMaxMessage);
  if (auto [ec] = co_await ws.async_accept(upgrade, nothrow); ec) {
    lowest(nullptr);
    peer->closed("the WebSocket handshake failed: " + ec.message());
    co_return;
  }
  auto outbox = co_await make_outbox();
  peer->opened({[outbox](std::string text) { outbox->push(std::move(text)); },
                [outbox](std::string reason) { outbox->close(std::move(reason)); },
                [outbox](std::string reason) { outbox->close(std::move(reason), true); }});
  const std::string why =
      co_await pump(ws, outbox, [&peer](std::string text) { peer->message(std::move(text)); });
  lowest(nullptr);
  peer->closed(why);
}

}  // namespace hearth::server::websocket_session
