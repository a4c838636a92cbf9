// Keeps web pages in a browser from driving the local API behind the user's back.
//
// Two attacks, two checks, both run on every request before the routes see it (http_server.cpp):
//   - DNS rebinding: a page on evil.example re-resolves its own name to 127.0.0.1, and the
//     browser then treats our API as that page's own origin. Its requests still say
//     `Host: evil.example`, so a server listening on loopback accepts only Host names that are
//     its own (localhost, the bound IP, 127.0.0.1, [::1]) or that the owner configured
//     (HEARTH_ALLOWED_HOSTS). A server listening beyond loopback requires Bearer tokens anyway
//     and is reached under names we cannot know, so it skips this check.
//   - Cross-site requests: any page can POST a "simple" request (text/plain, no preflight) to
//     http://127.0.0.1:11435; the browser sends it, with an `Origin` header. Requests whose
//     Origin is not allowed are refused whatever the listener. Allowed: the server's own origin,
//     localhost / 127.0.0.1 / [::1] on any port over http or https, the app://, file://,
//     tauri:// and vscode-webview:// schemes (desktop shells and editor webviews), and whatever
//     HEARTH_ORIGINS adds. Requests without Origin (curl, SDKs) are not from a page and pass.
//
// Allowed cross-origin requests get CORS headers so that the page can read the answer; OPTIONS
// preflights from allowed origins answer 204 here and never reach the routes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/server.h"

namespace hearth::server {

// One entry of an origin list: "scheme://host[:port]" where host may be "*" (any, also empty as
// in file://) or "*.suffix", and port "*" (any or none); or "null" (the opaque origin of
// sandboxed frames and file pages), or "*" (every origin).
struct OriginPattern {
  std::string scheme;
  std::string host;
  std::string port;  // "" for none, "*" for any
  bool any = false;
  bool null = false;
};

struct OriginPolicy {
  bool check_host = true;
  std::vector<std::string> hosts;  // lower-case names accepted in Host, without port; "*": any
  std::vector<OriginPattern> origins;
  std::string scheme = "http";  // this server's own scheme, for same-origin requests
};

// The policy for a server bound to `bind_host` ("127.0.0.1", "::1", "0.0.0.0", "localhost"),
// plus the comma-separated HEARTH_ALLOWED_HOSTS and HEARTH_ORIGINS values.
// Error(invalid_input) naming the setting for an entry that is not a host or an origin.
OriginPolicy make_origin_policy(std::string_view bind_host, bool tls, std::string_view allowed_hosts,
                                std::string_view origins);

// The answer for a request that must not reach the routes: 403 for a refused Host or Origin,
// 204 for an allowed CORS preflight. nullopt: go on to the routes.
std::optional<Response> screen_request(const OriginPolicy& policy, const Request& request);

// Headers for the answer to an allowed request that carries an Origin (Access-Control-Allow-
// Origin echoing it, Vary: Origin, the X-Hearth-* headers a page may read); empty otherwise.
std::vector<std::pair<std::string, std::string>> cors_headers(const OriginPolicy& policy,
                                                              const Request& request);

}  // namespace hearth::server
