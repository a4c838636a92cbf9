// The pages (/chat, /personal-models, /training) and their assets (/assets/*), embedded in the
// binary (web/assets.h). Public: a page holds no data; everything it shows comes from the API
// with the user's token, which the page keeps in sessionStorage and sends as a Bearer header.
//
// Every answer carries a Content-Security-Policy that lets a page run only this server's
// scripts (no inline script, no other origin, no eval), connect only to this server and never
// be framed; hashed assets are cached for a year, pages revalidated by ETag (304).
// GET / stays the plain "hearth is running" answer that tools probe; a browser asking for HTML
// there is sent on to /chat.
//
// HEARTH_WEB_DIR serves a folder of built pages instead (build.mjs --out DIR, then DIR/dist):
// for working on the pages without rebuilding the binary.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config.h"
#include "server/api.h"
#include "server/header_text.h"
#include "web/assets.h"

namespace hearth::server {
namespace {

constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

void add_page_headers(Response& r) {
  r.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

// Whether an If-None-Match header names this ETag (a list, or *).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (trim(if_none_match) == "*") return true;
  std::size_t at = 0;
  while (at <= if_none_match.size()) {
    std::size_t comma = if_none_match.find(',', at);
    if (comma == std::string_view::npos) comma = if_none_match.size();
    std::string_view tag = trim(if_none_match.substr(at, comma - at));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    at = comma + 1;
  }
  return false;
}

Response answer_asset(const Request& request, std::string_view content_type, std::string body,
                      std::string_view etag, bool immutable) {
  Response r;
  add_page_headers(r);
  r.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable"
                                                    : "no-cache");
  r.headers.emplace_back("ETag", std::string(etag));
  if (etag_matches(request.header("if-none-match"), etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.content_type = std::string(content_type);
  r.body = std::move(body);
  return r;
}

Response not_found(const Request& request) {
  return error_response(request.path(), 404, ErrorKind::not_found,
                        "no page at " + request.path());
}

// A file of HEARTH_WEB_DIR: names are one or two plain segments ("chat.html",
// "assets/chat-X.js"); nothing else of the disk is reachable.
Response from_folder(const Request& request, const std::string& folder, std::string_view name) {
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/'))
      return not_found(request);
  if (name.find("..") != std::string_view::npos || name.starts_with('/')) return not_found(request);
  std::ifstream in(std::filesystem::path(folder) / "dist" / std::string(name), std::ios::binary);
  if (!in) return not_found(request);
  std::ostringstream body;
  body << in.rdbuf();
  const std::string ext = std::filesystem::path(std::string(name)).extension().string();
  const std::string_view type = ext == ".html" ? "text/html; charset=utf-8"
                                : ext == ".js"  ? "text/javascript; charset=utf-8"
                                : ext == ".css" ? "text/css; charset=utf-8"
                                : ext == ".svg" ? "image/svg+xml"
                                : ext == ".txt" ? "text/plain; charset=utf-8"
                                                : "application/octet-stream";
  std::string text = body.str();
  const std::string etag = "\"dev-" + std::to_string(std::hash<std::string>{}(text)) + "\"";
  return answer_asset(request, type, std::move(text), etag, false);
}

Response serve_file(const Request& request, std::string_view name) {
  const std::string folder = config::get("HEARTH_WEB_DIR");
  if (!folder.empty()) return from_folder(request, folder, name);
  const web::Asset* asset = web::find_asset(name);
  if (!asset) return not_found(request);
  return answer_asset(request, asset->content_type, std::string(asset->body), asset->etag,
                      asset->immutable);
}

// Whether a request for "/" comes from a browser's address bar (Accept names HTML), not a tool.
bool wants_html(const Request& request) {
  return lower(request.header("accept")).find("text/html") != std::string::npos;
}

}  // namespace

void add_web_routes(Router& router) {
  for (std::string page : {"chat", "personal-models", "training"}) {
    router.add("GET", "/" + page,
               [page](const Request& r) { return serve_file(r, page + ".html"); }, true);
  }
  router.add("GET", "/assets/{file}",
             [](const Request& r) { return serve_file(r, "assets/" + std::string(r.param("file"))); },
             true);
  router.add(
      "GET", "/",
      [](const Request& r) {
        Response answer;
        if (wants_html(r)) {
          answer.status = 302;
          answer.headers.emplace_back("Location", "/chat");
          answer.headers.emplace_back("Vary", "Accept");
        } else {
          answer.headers.emplace_back("Vary", "Accept");
        }
        answer.content_type = "text/plain; charset=utf-8";
        answer.body = "hearth is running";
        return answer;
      },
      true);
}

}  // namespace hearth::server
