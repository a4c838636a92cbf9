// Small helpers for HTTP header text (names are case-insensitive; values may be padded with
// spaces and tabs), shared by the Host/Origin guard and the multipart reader.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace hearth::server {

// ASCII lower case (header names, tokens, schemes and host names).
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Without the spaces and tabs around it.
inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace hearth::server
