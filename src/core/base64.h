// Base64 (RFC 4648): the standard alphabet with padding, and the URL-safe one without.
#pragma once

#include <string>
#include <string_view>

namespace hearth {

std::string base64_encode(std::string_view bytes);     // "+/", '=' padding
std::string base64url_encode(std::string_view bytes);  // "-_", no padding

}  // namespace hearth
