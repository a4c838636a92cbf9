// Host and Origin checks and CORS answers (see origin_guard.h).
#include "server/origin_guard.h"
#include "server/header_text.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>

#include "core/error.h"

namespace hearth::server {
namespace {

// Desktop shells (Electron app://, Tauri), pages opened from disk in such shells, and editor
// webviews are local programs the user runs; loopback pages on any port are the user's own
// development servers.
constexpr std::string_view kDefaultOrigins[] = {
    "http://localhost:*", "https://localhost:*", "http://127.0.0.1:*", "https://127.0.0.1:*",
    "http://[::1]:*",     "https://[::1]:*",     "app://*",            "file://*",
    "tauri://*",          "vscode-webview://*",
};

// What a browser may send with a cross-origin request after a preflight: the origin is already
// allowed (a page the user trusts), so any well-formed header name. Clients add their own (the
// OpenAI SDK's x-stainless-*, OpenAI-Organization, User-Agent), and a preflight missing one of
// them fails the whole request.
bool allowed_request_header(std::string_view lower) {
  if (lower.empty() || lower.size() > 128 || lower == "cookie") return false;  // no cookies here
  for (const char c : lower)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}


std::vector<std::string_view> split_list(std::string_view csv) {
  std::vector<std::string_view> out;
  while (!csv.empty()) {
    const auto comma = csv.find(',');
    const std::string_view item = trim(csv.substr(0, comma));
    if (!item.empty()) out.push_back(item);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return out;
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "name", "name:port", "[v6]" or "[v6]:port" -> the lower-case name without brackets, port and
// one trailing dot; nullopt when it is not that shape.
std::optional<std::string> host_name(std::string_view text) {
  std::string s = lower(trim(text));
  std::string name;
  std::string_view port;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    name = s.substr(1, close - 1);
    const std::string_view rest = std::string_view(s).substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !all_digits(rest.substr(1)))) return std::nullopt;
    const bool v6 = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    return v6 ? std::optional(name) : std::nullopt;
  }
  const auto colon = s.find(':');
  name = s.substr(0, colon);
  if (colon != std::string::npos) port = std::string_view(s).substr(colon + 1);
  if (colon != std::string::npos && !all_digits(port)) return std::nullopt;
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_host_char)) return std::nullopt;
  return name;
}

// Parses a request's Origin (wildcards=false) or an entry of an origin list (wildcards=true).
std::optional<OriginPattern> parse_origin(std::string_view text, bool wildcards) {
  OriginPattern p;
  std::string s = lower(trim(text));
  if (s == "null") {
    p.null = true;
    return p;
  }
  if (wildcards && s == "*") {
    p.any = true;
    return p;
  }
  const auto sep = s.find("://");
  if (sep == std::string::npos || sep == 0) return std::nullopt;
  p.scheme = s.substr(0, sep);
  if (!std::isalpha(static_cast<unsigned char>(p.scheme[0])) ||
      !std::all_of(p.scheme.begin(), p.scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
      }))
    return std::nullopt;
  std::string_view rest = std::string_view(s).substr(sep + 3);
  // A browser serializes an origin without a path; a configured "https://app.example/" is meant
  // as that origin.
  if (wildcards && !rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    p.host = std::string(rest.substr(0, close + 1));
    rest.remove_prefix(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = rest.find(':');
    p.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
    }
    std::string_view h = p.host;
    if (wildcards && h == "*") h = {};
    else if (wildcards && h.rfind("*.", 0) == 0) h.remove_prefix(2);
    if (!std::all_of(h.begin(), h.end(), is_host_char)) return std::nullopt;
  }
  if (has_port) {
    if (!(wildcards && port == "*") && !all_digits(port)) return std::nullopt;
    p.port = std::string(port);
  } else if (wildcards && p.host == "*") {
    p.port = "*";  // "app://*": any host, with or without a port
  }
  return p;
}

bool matches(const OriginPattern& pattern, const OriginPattern& origin) {
  if (pattern.any) return true;
  if (pattern.null || origin.null) return pattern.null && origin.null;
  if (pattern.scheme != origin.scheme) return false;
  if (pattern.port != "*" && pattern.port != origin.port) return false;
  if (pattern.host == "*") return true;
  if (pattern.host.rfind("*.", 0) == 0) {
    const std::string_view suffix = std::string_view(pattern.host).substr(1);  // ".example.com"
    return origin.host.size() > suffix.size() &&
           origin.host.compare(origin.host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern.host == origin.host;
}

// Long header values are cut in messages; the point is to name what was refused.
std::string shown(std::string_view value) {
  return value.size() <= 120 ? std::string(value) : std::string(value.substr(0, 120)) + "...";
}

bool host_allowed(const OriginPolicy& policy, const std::string& name) {
  return std::any_of(policy.hosts.begin(), policy.hosts.end(),
                     [&](const std::string& h) { return h == "*" || h == name; });
}

// Allowed: the page is this server's own (scheme://Host), or the Origin is on the list.
bool origin_allowed(const OriginPolicy& policy, const Request& request, std::string_view origin) {
  const auto parsed = parse_origin(origin, false);
  if (!parsed) return false;
  const std::string_view host = request.header("host");
  if (!parsed->null && !host.empty() && lower(origin) == policy.scheme + "://" + lower(trim(host)))
    return true;
  return std::any_of(policy.origins.begin(), policy.origins.end(),
                     [&](const OriginPattern& p) { return matches(p, *parsed); });
}

Response forbidden(const Request& request, std::string message) {
  return error_response(request.path(), 403, ErrorKind::unauthorized, message);
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && address.is_loopback();
}

OriginPolicy make_origin_policy(std::string_view bind_host, bool tls, std::string_view allowed_hosts,
                                std::string_view origins) {
  OriginPolicy policy;
  policy.scheme = tls ? "https" : "http";
  policy.check_host = is_loopback_host(bind_host);
  policy.hosts = {"localhost", "127.0.0.1", "::1"};
  if (const auto bound = host_name(bind_host.find(':') != std::string_view::npos
                                       ? "[" + std::string(bind_host) + "]"
                                       : std::string(bind_host)))
    policy.hosts.push_back(*bound);
  for (const std::string_view entry : split_list(allowed_hosts)) {
    if (entry == "*") {
      policy.hosts.emplace_back("*");
      continue;
    }
    const auto name = host_name(entry);
    if (!name)
      throw Error(ErrorKind::invalid_input,
                  "HEARTH_ALLOWED_HOSTS: '" + std::string(entry) +
                      "' is not a host name (e.g. myhost, myhost.lan, 192.168.1.5 or *)");
    policy.hosts.push_back(*name);
  }
  for (const std::string_view entry : kDefaultOrigins) policy.origins.push_back(*parse_origin(entry, true));
  for (const std::string_view entry : split_list(origins)) {
    const auto pattern = parse_origin(entry, true);
    if (!pattern)
      throw Error(ErrorKind::invalid_input,
                  "HEARTH_ORIGINS: '" + std::string(entry) +
                      "' is not an origin (scheme://host[:port], * for any host or port, null, or *)");
    policy.origins.push_back(*pattern);
  }
  return policy;
}

std::optional<Response> screen_request(const OriginPolicy& policy, const Request& request) {
  // Browsers always send Host; a request without one (HTTP/1.0 by hand) is not a page's.
  if (const std::string_view host = request.header("host"); policy.check_host && !host.empty()) {
    const auto name = host_name(host);
    if (!name || !host_allowed(policy, *name))
      return forbidden(request, "Host '" + shown(host) +
                                    "' is not a name of this server (it listens on loopback and "
                                    "answers to localhost, 127.0.0.1 and [::1]); to accept it, add it "
                                    "to HEARTH_ALLOWED_HOSTS (hearth serve --allowed-hosts)");
  }
  const std::string_view origin = request.header("origin");
  if (origin.empty()) return std::nullopt;
  if (!origin_allowed(policy, request, origin))
    return forbidden(request, "Origin '" + shown(origin) +
                                  "' may not use this server (web pages need to be allowed); to "
                                  "allow it, add it to HEARTH_ORIGINS (hearth serve --origins)");
  if (request.method != "OPTIONS" || request.header("access-control-request-method").empty())
    return std::nullopt;
  // A CORS preflight: answer it here, the routes know nothing of OPTIONS.
  Response r;
  r.status = 204;
  r.content_type = "text/plain";
  r.headers = cors_headers(policy, request);
  r.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  std::string allow = "Authorization, Content-Type";
  for (const std::string_view name : split_list(request.header("access-control-request-headers"))) {
    const std::string l = lower(name);
    if (allowed_request_header(l) && l != "authorization" && l != "content-type")
      allow += ", " + std::string(name);
  }
  r.headers.emplace_back("Access-Control-Allow-Headers", allow);
  r.headers.emplace_back("Access-Control-Max-Age", "600");
  return r;
}

std::vector<std::pair<std::string, std::string>> cors_headers(const OriginPolicy& policy,
                                                              const Request& request) {
  const std::string_view origin = request.header("origin");
  if (origin.empty() || !origin_allowed(policy, request, origin)) return {};
  return {{"Access-Control-Allow-Origin", std::string(origin)},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", "X-Hearth-Conversation-Id, X-Hearth-Message-Id"}};
}

}  // namespace hearth::server
