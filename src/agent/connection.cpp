// The agent's sockets (agent.h): registration over HTTP, then the WebSocket to the hub's
// /ws/desktop, over TCP or TLS, reconnecting with backoff after any failure.
//
// One io_context on the calling thread runs one connection attempt at a time: connect (and the
// TLS handshake), register when this hub has no credentials yet, upgrade, hello, then the
// frames both ways (websocket_session::pump) and a heartbeat every few seconds. The engine's
// threads queue their frames through the Outbox, which turns inert when the connection ends.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>

#include <unistd.h>

#include <cstdio>
#include <random>

#include "agent/agent.h"
#include "agent/credentials.h"
#include "agent/session.h"
#include "core/json_text.h"
#include "core/log.h"
#include "server/desktop_wire.h"
#include "server/json_util.h"
#include "server/websocket_session.h"

namespace hearth::agent {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

constexpr std::chrono::seconds kConnectTimeout{10};
constexpr std::chrono::milliseconds kFirstBackoff{500};
constexpr std::chrono::seconds kMaxBackoff{30};
constexpr std::chrono::seconds kStableConnection{60};

struct HubUrl {
  bool tls = false;
  std::string host;       // without brackets
  std::string port;
  std::string base_path;  // "" or "/prefix"
  std::string key;        // the credentials' key: http(s)://host:port/prefix
  std::string host_header;
};

HubUrl parse_hub(const std::string& text) {
  auto parsed = boost::urls::parse_uri(text);
  const std::string example = " (for example --hub https://hub.example.com or ws://127.0.0.1:11435)";
  if (!parsed) throw Error(ErrorKind::invalid_input, "--hub '" + text + "' is not a URL" + example);
  HubUrl u;
  const std::string scheme(parsed->scheme());
  if (scheme == "ws" || scheme == "http") u.tls = false;
  else if (scheme == "wss" || scheme == "https") u.tls = true;
  else throw Error(ErrorKind::invalid_input, "--hub must use ws, wss, http or https, not '" + scheme + "'" + example);
  u.host = parsed->host_type() == boost::urls::host_type::ipv6
               ? parsed->host_ipv6_address().to_string()
               : std::string(parsed->host());
  if (u.host.empty()) throw Error(ErrorKind::invalid_input, "--hub '" + text + "' names no host" + example);
  u.port = parsed->has_port() ? std::string(parsed->port()) : (u.tls ? "443" : "80");
  u.base_path = std::string(parsed->encoded_path());
  while (!u.base_path.empty() && u.base_path.back() == '/') u.base_path.pop_back();
  const bool v6 = parsed->host_type() == boost::urls::host_type::ipv6;
  u.host_header = (v6 ? "[" + u.host + "]" : u.host) + ":" + u.port;
  u.key = std::string(u.tls ? "https" : "http") + "://" + u.host_header + u.base_path;
  return u;
}

// A refusal that retrying cannot fix: the agent stops.
struct Fatal : Error {
  using Error::Error;
};

struct Runner {
  const AgentOptions& options;
  AgentContext& context;
  HubUrl url;
  ssl::context tls{ssl::context::tls_client};
  bool stopping = false;
  beast::tcp_stream* current = nullptr;  // the live connection's TCP layer, for stop()
  net::steady_timer* backoff_timer = nullptr;  // while waiting to retry, for stop()
  std::optional<Credentials> credentials;

  void stop() {
    stopping = true;
    if (current != nullptr) {
      beast::error_code ignored;
      current->socket().close(ignored);
    }
    if (backoff_timer != nullptr) backoff_timer->cancel();
  }

  // POST /api/desktop/register on the stream already connected.
  template <class Stream>
  net::awaitable<void> register_agent(Stream& stream) {
    http::request<http::string_body> req{http::verb::post, url.base_path + "/api/desktop/register", 11};
    req.set(http::field::host, url.host_header);
    req.set(http::field::user_agent, "hearth-agent/" HEARTH_VERSION);
    // Without a token only a hub that needs none (loopback, no users) registers the agent.
    if (!options.token.empty()) req.set(http::field::authorization, "Bearer " + options.token);
    req.set(http::field::content_type, "application/json");
    req.body() = server::json_text(json::object{{"name", options.name}});
    req.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    if (auto [ec, n] = co_await http::async_write(stream, req, nothrow); ec)
      throw Error(ErrorKind::unavailable, "registering failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (auto [ec, n] = co_await http::async_read(stream, buffer, res, nothrow); ec)
      throw Error(ErrorKind::unavailable, "registering failed: " + ec.message());
    beast::get_lowest_layer(stream).expires_never();
    std::string error;
    auto body = parse_json(res.body(), &error);
    auto text = [&](const char* key) {
      if (body && body->is_object())
        if (const auto* v = body->as_object().if_contains(key); v && v->is_string())
          return std::string(v->as_string());
      return std::string();
    };
    if (res.result_int() == 401 || res.result_int() == 403)
      throw Fatal(ErrorKind::unauthorized,
                  options.token.empty()
                      ? "this desktop is not registered with " + url.key +
                            " yet and the hub asks for a token: start it once with --token (an API "
                            "token of your account on the hub; `hearth token create` there makes one)"
                      : "the hub refused the token (" + text("error") + "); pass a valid --token");
    if (res.result_int() != 201 || text("agent_id").empty() || text("secret").empty())
      throw Error(ErrorKind::unavailable, "registering failed: the hub answered " +
                                              std::to_string(res.result_int()) + " " + text("error"));
    credentials = Credentials{text("agent_id"), text("secret"), text("name")};
    save_credentials(url.key, credentials);
    std::printf("registered with %s as agent '%s' (%s)\n", url.key.c_str(), credentials->name.c_str(),
                credentials->agent_id.c_str());
    std::fflush(stdout);
  }


  // One connection on a connected stream (moved in): returns why it ended (then the caller
  // retries), or throws Fatal.
  // Keeps `current` pointing at the live stream's TCP layer, and never at a dead one (an
  // exception may leave a scope early).
  struct Current {
    beast::tcp_stream*& slot;
    Current(beast::tcp_stream*& s, beast::tcp_stream* now) : slot(s) { slot = now; }
    ~Current() { slot = nullptr; }
  };

  template <class Stream>
  net::awaitable<std::string> converse(Stream stream, bool& welcomed) {
    {
      Current registering(current, &beast::get_lowest_layer(stream));
      if (!credentials) co_await register_agent(stream);
    }
    websocket::stream<Stream> ws(std::move(stream));
    Current live(current, &beast::get_lowest_layer(ws));
    if (stopping) co_return std::string("stopped");
    ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      req.set(http::field::user_agent, "hearth-agent/" HEARTH_VERSION);
      req.set("X-Hearth-Agent", credentials->agent_id);
      req.set(http::field::authorization, "Bearer " + credentials->secret);
    }));
    ws.read_message_max(server::websocket_session::kMaxMessage);
    beast::get_lowest_layer(ws).expires_after(kConnectTimeout);
    websocket::response_type res;
    auto [ec] = co_await ws.async_handshake(res, url.host_header, url.base_path + "/ws/desktop", nothrow);
    beast::get_lowest_layer(ws).expires_never();
    if (ec) {
      if (res.result_int() == 401) {
        save_credentials(url.key, std::nullopt);
        throw Fatal(ErrorKind::unauthorized,
                    "the hub refused this agent (" + credentials->agent_id +
                        "): it was revoked or the hub forgot it; its credentials are removed, "
                        "start again with --token to register anew");
      }
      co_return res.result_int() != 0
          ? "the hub refused the connection (HTTP " + std::to_string(res.result_int()) + ")"
          : "the WebSocket upgrade failed: " + ec.message();
    }
    ws.set_option(websocket::stream_base::timeout{server::websocket_session::kHandshake,
                                                  server::websocket_session::kIdle, true});
    auto outbox = co_await server::websocket_session::make_outbox();
    auto session = std::make_shared<AgentSession>(
        context, [outbox](std::string text) { outbox->push(std::move(text)); },
        credentials->name.empty() ? options.name : credentials->name);
    outbox->push(server::json_text(session->hello()));
    outbox->push(server::json_text(session->heartbeat()));  // telemetry at once, not in 5 s
    auto on_text = [&](std::string text) {
      try {
        json::value welcome = session->message(text);
        if (welcome.is_object() && !welcomed) {
          welcomed = true;
          std::printf("connected to %s as agent '%s' (%s)\n", url.key.c_str(),
                      credentials->name.c_str(), credentials->agent_id.c_str());
          std::fflush(stdout);
        }
      } catch (const std::exception& e) {
        outbox->close(std::string("bad message from the hub: ") + e.what(), true);
      }
    };
    auto heartbeat = [&]() -> net::awaitable<void> {
      net::steady_timer timer(co_await net::this_coro::executor);
      for (;;) {
        timer.expires_after(std::chrono::seconds(server::wire::kHeartbeatSeconds));
        if (auto [e] = co_await timer.async_wait(nothrow); e) co_return;
        outbox->push(server::json_text(session->heartbeat()));
      }
    };
    auto result = co_await (server::websocket_session::pump(ws, outbox, on_text) || heartbeat());
    outbox->detach();
    session->closed();
    co_return result.index() == 0 ? std::get<0>(result) : std::string("stopped");
  }

  net::awaitable<std::string> attempt(bool& welcomed) {
    const auto executor = co_await net::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port, nothrow);
    if (rec) co_return "cannot resolve " + url.host + ": " + rec.message();
    beast::tcp_stream tcp_stream(executor);
    {
      Current connecting(current, &tcp_stream);
      tcp_stream.expires_after(kConnectTimeout);
      auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, nothrow);
      if (stopping) co_return std::string("stopped");
      if (cec) co_return "cannot connect: " + cec.message();
    }
    // Pieces are small frames: send each at once rather than wait for the hub's ACK (Nagle's
    // delay would add ~40 ms between pieces).
    beast::error_code ignored;
    tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
    if (!url.tls) co_return co_await converse(std::move(tcp_stream), welcomed);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), tls);
    Current handshaking(current, &beast::get_lowest_layer(stream));
    // The server name for the hub's certificate selection (not for an IP address); the
    // certificate is checked against the host either way.
    boost::system::error_code parse_ec;
    net::ip::make_address(url.host, parse_ec);
    if (parse_ec) SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    stream.set_verify_callback(ssl::host_name_verification(url.host));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, nothrow);
    if (stopping) co_return std::string("stopped");
    if (hec)
      co_return "TLS handshake failed: " + hec.message() +
          (options.ca_file.empty() ? " (a hub with a self-signed certificate needs --ca FILE)" : "");
    beast::get_lowest_layer(stream).expires_never();
    co_return co_await converse(std::move(stream), welcomed);
  }

  net::awaitable<void> loop() {
    std::mt19937 rng(std::random_device{}());
    auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
    net::steady_timer wait(co_await net::this_coro::executor);
    backoff_timer = &wait;
    while (!stopping) {
      const auto began = std::chrono::steady_clock::now();
      bool welcomed = false;
      std::string why;
      try {
        why = co_await attempt(welcomed);
      } catch (const Fatal&) {
        throw;
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (stopping) break;
      if (std::chrono::steady_clock::now() - began > kStableConnection)
        backoff = std::chrono::duration_cast<std::chrono::milliseconds>(kFirstBackoff);
      std::uniform_real_distribution<double> jitter(0.75, 1.25);
      const auto delay = std::chrono::milliseconds(
          static_cast<std::int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
      std::printf("disconnected from %s: %s; retrying in %.1fs\n", url.key.c_str(), why.c_str(),
                  static_cast<double>(delay.count()) / 1000.0);
      std::fflush(stdout);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
      wait.expires_after(delay);
      co_await wait.async_wait(nothrow);
    }
    backoff_timer = nullptr;
  }
};

}  // namespace

void run_agent(const AgentOptions& given, AgentContext& context) {
  AgentOptions options = given;
  if (options.name.empty()) {  // the host name, as the hub will show it
    char name[256] = {};
    options.name = ::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "desktop";
  }
  Runner runner{options, context, parse_hub(options.hub), ssl::context{ssl::context::tls_client},
                false, nullptr, nullptr, std::nullopt};
  runner.credentials = load_credentials(runner.url.key);
  runner.tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                         ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  runner.tls.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (!options.ca_file.empty()) {
    if (runner.tls.load_verify_file(options.ca_file, ec); ec)
      throw Error(ErrorKind::invalid_input,
                  "cannot read the certificate file '" + options.ca_file + "': " + ec.message());
  } else {
    runner.tls.set_default_verify_paths(ec);
  }
  net::io_context io{1};
  net::signal_set signals(io, SIGINT, SIGTERM);
  // A signal ends the connection in the usual way (its outbox goes inert before the io_context
  // does, so the engine's threads never post to a dead one).
  signals.async_wait([&](const beast::error_code& error, int) {
    if (!error) runner.stop();
  });
  std::exception_ptr failure;
  net::co_spawn(io, runner.loop(), [&](std::exception_ptr e) {
    failure = e;
    signals.cancel();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace hearth::agent
