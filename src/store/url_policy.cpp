// The address policy of downloads (see url_policy.h): classifying IPv4/IPv6 addresses and the
// libcurl socket-open callback that enforces the policy.
#include "store/url_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

namespace hearth::store {
namespace {

struct V4Range {
  uint32_t base;
  int prefix;
  const char* what;
};

constexpr uint32_t ip4(int a, int b, int c, int d) {
  return (static_cast<uint32_t>(a) << 24) | (static_cast<uint32_t>(b) << 16) |
         (static_cast<uint32_t>(c) << 8) | static_cast<uint32_t>(d);
}

constexpr std::array<V4Range, 12> kV4Refused = {{
    {ip4(0, 0, 0, 0), 8, "unspecified"},
    {ip4(10, 0, 0, 0), 8, "private network"},
    {ip4(100, 64, 0, 0), 10, "shared (carrier-grade NAT)"},
    {ip4(127, 0, 0, 0), 8, "loopback"},
    {ip4(169, 254, 0, 0), 16, "link-local"},
    {ip4(172, 16, 0, 0), 12, "private network"},
    {ip4(192, 0, 0, 0), 24, "reserved"},
    {ip4(192, 168, 0, 0), 16, "private network"},
    {ip4(198, 18, 0, 0), 15, "reserved (benchmarking)"},
    {ip4(224, 0, 0, 0), 4, "multicast"},
    {ip4(255, 255, 255, 255), 32, "broadcast"},  // before 240/4, which holds it
    {ip4(240, 0, 0, 0), 4, "reserved"},
}};

// `host_order` is the address as a number (a.b.c.d → a<<24 | ...).
std::string v4_class(uint32_t host_order) {
  for (const auto& r : kV4Refused) {
    const uint32_t mask = r.prefix == 0 ? 0 : ~uint32_t{0} << (32 - r.prefix);
    if ((host_order & mask) == r.base) return r.what;
  }
  return "";
}

uint32_t v4_tail(const uint8_t* b) {  // the last four bytes of an IPv6 address
  return ip4(b[12], b[13], b[14], b[15]);
}

std::string v6_class(const in6_addr& a) {
  const uint8_t* b = a.s6_addr;
  auto zero = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      if (b[i] != 0) return false;
    return true;
  };
  if (zero(0, 16)) return "unspecified";
  if (zero(0, 15) && b[15] == 1) return "loopback";
  // IPv4 carried in IPv6: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d.
  if (zero(0, 10) && b[10] == 0xff && b[11] == 0xff) return v4_class(v4_tail(b));
  if (zero(0, 12)) return v4_class(v4_tail(b));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12))
    return v4_class(v4_tail(b));
  if ((b[0] & 0xfe) == 0xfc) return "unique-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local";
  if (b[0] == 0xff) return "multicast";
  return "";
}

// The numeric text and port of a socket address ("10.0.0.1", 80).
std::pair<std::string, uint16_t> numeric(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    return {text, ntohs(in.sin_port)};
  }
  sockaddr_in6 in6{};
  std::memcpy(&in6, address, sizeof in6);
  ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
  return {text, ntohs(in6.sin6_port)};
}

curl_socket_t open_guarded_socket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* guard = static_cast<TransferGuard*>(user);
  if (guard->policy) {
    std::string why = guard->policy->refusal(&address->addr, address->addrlen);
    if (!why.empty()) {
      guard->refused = std::move(why);
      return CURL_SOCKET_BAD;  // curl gives up on this address; no socket was made
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

}  // namespace

std::string address_class(const std::string& numeric_ip) {
  in_addr v4{};
  if (::inet_pton(AF_INET, numeric_ip.c_str(), &v4) == 1) return v4_class(ntohl(v4.s_addr));
  in6_addr v6{};
  if (::inet_pton(AF_INET6, numeric_ip.c_str(), &v6) == 1) return v6_class(v6);
  return "not an IP address";
}

std::string AddressPolicy::refusal(const sockaddr* address, socklen_t length) const {
  std::string what;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in{};
    std::memcpy(&in, address, sizeof in);
    what = v4_class(ntohl(in.sin_addr.s_addr));
  } else if (address->sa_family == AF_INET6 &&
             length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, address, sizeof in6);
    what = v6_class(in6.sin6_addr);
  } else {
    return "only IPv4 and IPv6 addresses may be connected to";
  }
  if (what.empty()) return "";
  auto [ip, port] = numeric(address);
  for (const auto& [allowed_ip, allowed_port] : allowed_)
    if (allowed_port == port && allowed_ip == ip) return "";
  return ip + " is not a public address (" + what + ")";
}

std::string host_refusal(const std::string& url, const AddressPolicy& policy) {
  CURLU* parsed = curl_url();
  if (parsed == nullptr) return "out of memory";
  char* host = nullptr;
  char* port = nullptr;
  std::string why;
  if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    why = "the URL cannot be parsed";
  } else {
    std::string name = host;
    if (name.size() > 2 && name.front() == '[' && name.back() == ']')
      name = name.substr(1, name.size() - 2);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(name.c_str(), port, &hints, &found) == 0) {
      for (addrinfo* a = found; a != nullptr && why.empty(); a = a->ai_next)
        why = policy.refusal(a->ai_addr, a->ai_addrlen);
      ::freeaddrinfo(found);
    }
  }
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(parsed);
  return why;
}

void guard_transfer(void* curl, TransferGuard& guard) {
  CURL* h = static_cast<CURL*>(curl);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_guarded_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &guard);
  if (guard.policy) curl_easy_setopt(h, CURLOPT_PROXY, "");
}

std::string refused_message(const std::string& url, const std::string& reason) {
  if (reason.find("is not a public address") == std::string::npos)
    return url + ": refused: " + reason;  // a scheme, not an address
  return url + ": refused: " + reason +
         "; a pull requested through the server's API may only download from public "
         "addresses (the machine's owner can allow private ones with "
         "HEARTH_ALLOW_PRIVATE_URLS=1, or pull with the hearth command)";
}

}  // namespace hearth::store
