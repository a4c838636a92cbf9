// format_json() and parse_json() (see json_text.h).
#include "core/json_text.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace hearth {
namespace json = boost::json;
namespace {

// The shortest digits that read back as `d` (finite, > 0), placed the way the --json output has
// always placed them: plain decimals while the point falls within 4 zeros after it or 15 digits
// before it, else d.ddde+XX with at least two exponent digits.
void append_positive_double(std::string& out, double d) {
  char sci[32];
  const char* end = std::to_chars(sci, sci + sizeof sci, d, std::chars_format::scientific).ptr;
  const char* e = std::find(static_cast<const char*>(sci), end, 'e');
  std::string digits;
  for (const char* p = sci; p != e; ++p)
    if (*p != '.') digits += *p;
  int exponent = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // where the decimal point falls, counted from the first digit
  if (k <= n && n <= 15) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
    out += ".0";
  } else if (0 < n && n <= 15) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n));
  } else if (-4 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", n - 1 < 0 ? '-' : '+', std::abs(n - 1));
    out += exp;
  }
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  if (std::signbit(d)) {
    out += '-';
    d = -d;
  }
  if (d == 0) {
    out += "0.0";
    return;
  }
  append_positive_double(out, d);
}

// How many bytes the UTF-8 sequence at text[i] has when it is well formed (Unicode table 3-7:
// no overlong forms, no surrogates, nothing above U+10FFFF); otherwise 0, and `bad_at` is where
// the sequence stops being valid.
size_t utf8_sequence(std::string_view text, size_t i, size_t* bad_at) {
  const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  const unsigned char lead = byte(i);
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (length == 0) {
    *bad_at = i + 1;  // not a lead byte: it alone is replaced
    return 0;
  }
  for (size_t j = 1; j < length; ++j) {
    if (i + j >= text.size() || byte(i + j) < (j == 1 ? low : 0x80) ||
        byte(i + j) > (j == 1 ? high : 0xBF)) {
      *bad_at = std::min(i + j, text.size());  // this byte may start the next character
      return 0;
    }
  }
  return length;
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t bad_at = 0;
      if (const size_t length = utf8_sequence(text, i, &bad_at)) {
        out.append(text, i, length);
        i += length;
      } else {
        out += "\xEF\xBF\xBD";
        i = bad_at;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void append_value(std::string& out, const json::value& v, int indent, int depth);

void newline(std::string& out, int indent, int depth) {
  if (indent < 0) return;
  out += '\n';
  out.append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
}

void append_object(std::string& out, const json::object& o, int indent, int depth) {
  if (o.empty()) {
    out += "{}";
    return;
  }
  std::vector<const json::key_value_pair*> members;
  members.reserve(o.size());
  for (const auto& member : o) members.push_back(&member);
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->key() < b->key(); });
  out += '{';
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) out += ',';
    newline(out, indent, depth + 1);
    append_string(out, members[i]->key());
    out += indent < 0 ? ":" : ": ";
    append_value(out, members[i]->value(), indent, depth + 1);
  }
  newline(out, indent, depth);
  out += '}';
}

void append_array(std::string& out, const json::array& a, int indent, int depth) {
  if (a.empty()) {
    out += "[]";
    return;
  }
  out += '[';
  for (size_t i = 0; i < a.size(); ++i) {
    if (i > 0) out += ',';
    newline(out, indent, depth + 1);
    append_value(out, a[i], indent, depth + 1);
  }
  newline(out, indent, depth);
  out += ']';
}

void append_value(std::string& out, const json::value& v, int indent, int depth) {
  switch (v.kind()) {
    case json::kind::null: out += "null"; return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::int64: out += std::to_string(v.get_int64()); return;
    case json::kind::uint64: out += std::to_string(v.get_uint64()); return;
    case json::kind::double_: append_double(out, v.get_double()); return;
    case json::kind::string: append_string(out, v.get_string()); return;
    case json::kind::array: append_array(out, v.get_array(), indent, depth); return;
    case json::kind::object: append_object(out, v.get_object(), indent, depth); return;
  }
}

std::string position(std::string_view text, size_t at) {
  at = std::min(at, text.size());
  const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  const size_t newline_before = text.substr(0, at).rfind('\n');
  const size_t line_start = newline_before == std::string_view::npos ? 0 : newline_before + 1;
  const size_t column = at - line_start + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace

std::string format_json(const json::value& value, int indent) {
  std::string out;
  append_value(out, value, indent, 0);
  return out;
}

std::optional<json::value> parse_json(std::string_view text, std::string* error) {
  const std::string_view bom = "\xEF\xBB\xBF";
  const size_t start = text.substr(0, bom.size()) == bom ? bom.size() : 0;
  json::parse_options options;
  options.max_depth = 1000;
  json::stream_parser parser({}, options);
  json::error_code ec;
  const size_t used = parser.write_some(text.data() + start, text.size() - start, ec);
  size_t failed_at = start + used;
  if (!ec && start + used < text.size()) {
    ec = json::error::extra_data;  // a second value or other text after the first one
  } else if (!ec) {
    parser.finish(ec);
    failed_at = text.size();
  }
  if (!ec) return parser.release();
  if (error != nullptr) *error = ec.message() + " at " + position(text, failed_at);
  return std::nullopt;
}

}  // namespace hearth
