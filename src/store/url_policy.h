// Which network addresses a download may connect to, enforced on the address libcurl is about to
// connect to.
//
// A pull that someone asks for through the HTTP API must not turn the server into a probe of its
// own network (SSRF): the URL's host, and the host of every redirect, may only be a public
// address. The check runs in libcurl's socket-open callback, that is on the very address the
// next connect() will use, after DNS resolution and after each redirect, and before any socket
// exists. Because the address checked is the address connected to, a DNS answer that changes
// between a check and the connection (rebinding) cannot slip through. A transfer that had any
// address refused fails as a whole, even if curl could have reached another of the host's
// addresses: a host that resolves to an internal address is not one to download from.
//
// Refused (AddressPolicy::public_only): loopback (127/8, ::1), unspecified (0/8, ::), private
// (10/8, 172.16/12, 192.168/16), shared (100.64/10), link-local (169.254/16, fe80::/10),
// multicast (224/4, ff00::/8), reserved (240/4 with broadcast, 192.0.0/24, benchmarking
// 198.18/15), unique-local (fc00::/7) and site-local (fec0::/10); an IPv6 address that carries
// an IPv4 one (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d) is judged by
// that IPv4 address.
//
// Every guarded transfer (filtered or not) speaks only http and https, redirects included. A
// filtered transfer uses no proxy: a proxy would resolve the host itself, out of reach of the
// check.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace hearth::store {

class AddressPolicy {
 public:
  // Refuses every class listed above.
  static std::shared_ptr<const AddressPolicy> public_only() {
    return std::make_shared<const AddressPolicy>();
  }

  // Lets one otherwise refused address and port through (tests: one loopback server stands in
  // for a public one). `ip` is numeric ("127.0.0.1", "::1").
  void allow_endpoint(std::string ip, uint16_t port) { allowed_.emplace_back(std::move(ip), port); }

  // Empty when `address` may be connected to; else why not, e.g. "10.0.0.1 is not a public
  // address (private network)". Only AF_INET and AF_INET6 are ever allowed.
  std::string refusal(const sockaddr* address, socklen_t length) const;

 private:
  std::vector<std::pair<std::string, uint16_t>> allowed_;
};

// The class of a numeric IPv4 or IPv6 address that public_only() refuses ("loopback",
// "private network", ...), or "" for a public one. "not an IP address" when it does not parse.
std::string address_class(const std::string& numeric_ip);

// Resolves the URL's host (DNS only, no connection) and returns why `policy` refuses it, "" when
// every address it resolves to is allowed or it does not resolve (the connect-time check still
// runs: this is for decisions made before any transfer, e.g. a model already installed from that
// URL). A URL that does not parse is refused.
std::string host_refusal(const std::string& url, const AddressPolicy& policy);

// Installs the guard on a libcurl easy handle (`curl` is a CURL*): http/https only, and with a
// policy the socket-open check and no proxy. The guard must outlive the transfer; after it,
// `refused` holds the reason when a connection was refused (curl then reports "couldn't
// connect").
struct TransferGuard {
  std::shared_ptr<const AddressPolicy> policy;  // null: any address (the owner's own pulls)
  std::string refused;
};
void guard_transfer(void* curl, TransferGuard& guard);

// The message for a refused connection: "<url>: refused: <reason>", and for a refused address
// the setting the owner can change.
std::string refused_message(const std::string& url, const std::string& reason);

}  // namespace hearth::store
