// The web pages, embedded in the binary at build time (build.mjs bundles ui/ with esbuild and
// writes the table): no network and no files are needed to serve them.
//
// Names are paths under the site root without the leading slash: "chat.html",
// "assets/chat-AB12CD34.js". Hashed asset names never change content (immutable); pages and
// unhashed files are revalidated with their ETag.
#pragma once

#include <span>
#include <string_view>

namespace hearth::web {

struct Asset {
  std::string_view name;
  std::string_view content_type;
  std::string_view body;
  std::string_view etag;  // quoted, as sent in ETag
  bool immutable = false;
};

std::span<const Asset> assets();
// The asset of that name; nullptr when there is none.
const Asset* find_asset(std::string_view name);

}  // namespace hearth::web
