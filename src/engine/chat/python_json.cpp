// See python_json.h.
#include "engine/chat/python_json.h"

#include <boost/json.hpp>

#include "core/error.h"

namespace hearth::chat {
namespace {

namespace json = boost::json;

// A JSON string literal with only what JSON requires escaped (and DEL left alone, as Python does).
void quote(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void dump(const json::value& v, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  const char* comma = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += comma;
        first = false;
        if (indent >= 0) newline(depth + 1);
        quote(kv.key(), out);
        out += ": ";
        dump(kv.value(), indent, depth + 1, out);
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += comma;
        if (indent >= 0) newline(depth + 1);
        dump(a[i], indent, depth + 1, out);
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case json::kind::string:
      quote(v.get_string(), out);
      return;
    case json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::null:
      out += "null";
      return;
    default:  // numbers: boost's shortest round-trip form
      out += json::serialize(v);
      return;
  }
}

}  // namespace

std::string python_json(const json::value& value, int indent) {
  std::string out;
  dump(value, indent, 0, out);
  return out;
}

json::value parse_json(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw Error(ErrorKind::invalid_input, std::string(what) + " is not valid JSON: " + ec.message());
  return v;
}

}  // namespace hearth::chat
