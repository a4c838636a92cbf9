// postgresql:// URLs → libpq keyword/value connection strings. SOCI 4.0's PostgreSQL backend
// re-splits its connect string as `key=value` pairs and so mangles libpq's URI form; the keyword
// form goes through untouched.
#include <cctype>

#include "db/internal.h"

namespace hearth::db::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, std::string_view url_for_errors) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
    int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
    if (hi < 0 || lo < 0)
      throw Error(ErrorKind::invalid_input,
                  "database URL '" + std::string(url_for_errors) + "' has a bad %-escape");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

// libpq's quoting: single quotes, with \ and ' escaped by a backslash.
void append(std::string& out, std::string_view key, const std::string& value) {
  if (value.empty()) return;
  if (!out.empty()) out += ' ';
  out += key;
  out += "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
}

}  // namespace

std::string postgres_connect_string(const std::string& url, std::string_view masked) {
  std::size_t start = url.find("://");
  HEARTH_ASSERT(start != std::string::npos, "not a URL");
  std::string_view rest(url);
  rest.remove_prefix(start + 3);

  std::string_view query;
  if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest, dbname;
  if (std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    dbname = rest.substr(slash + 1);
  }
  std::string_view userinfo, hostport = authority;
  if (std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
  }
  std::string_view user = userinfo, password;
  if (std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
    user = userinfo.substr(0, colon);
    password = userinfo.substr(colon + 1);
  }
  std::string_view host = hostport, port;
  if (!hostport.empty() && hostport.front() == '[') {  // [IPv6]:port
    std::size_t close = hostport.find(']');
    if (close == std::string_view::npos)
      throw Error(ErrorKind::invalid_input,
                  "database URL '" + std::string(masked) + "' has an unclosed [IPv6 address]");
    host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size() && hostport[close + 1] == ':')
      port = hostport.substr(close + 2);
  } else if (std::size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ',')
      throw Error(ErrorKind::invalid_input,
                  "database URL '" + std::string(masked) + "' has a port that is not a number");

  std::string out;
  append(out, "host", percent_decode(host, masked));
  append(out, "port", std::string(port));
  append(out, "dbname", percent_decode(dbname, masked));
  append(out, "user", percent_decode(user, masked));
  append(out, "password", percent_decode(password, masked));
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw Error(ErrorKind::invalid_input, "database URL '" + std::string(masked) +
                                                "' has a parameter without a value: '" +
                                                std::string(pair) + "'");
    append(out, percent_decode(pair.substr(0, eq), masked),
           percent_decode(pair.substr(eq + 1), masked));
  }
  return out;
}

}  // namespace hearth::db::detail
