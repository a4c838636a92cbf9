// Compiling a JSON Schema's text into nodes (json_schema_nodes.h): keyword checks with the
// place of each refusal, $ref resolution within the document (loops allowed), and each node's
// shortest value, which both proves the schema satisfiable and gives the checker's completions.
#include <boost/json.hpp>
#include <cmath>
#include <set>

#include "core/error.h"
#include "engine/generate/json_schema_nodes.h"

namespace hearth::generate {

namespace json = boost::json;

namespace {

// Bounds on what one request may ask the checker to carry (its work per byte grows with them).
constexpr size_t kMaxNodes = 5000;
constexpr size_t kMaxProperties = 256;

// Keywords the compiler reads.
const std::set<std::string, std::less<>> kSupported = {
    "type",      "properties", "required",  "additionalProperties", "enum",     "const",
    "items",     "minItems",   "maxItems",  "minLength",            "maxLength", "pattern",
    "format",    "minimum",    "maximum",   "exclusiveMinimum",     "exclusiveMaximum",
    "anyOf",     "oneOf",      "allOf",     "$ref",                 "nullable", "uniqueItems"};
// Annotations that do not constrain a value (and containers read on demand).
const std::set<std::string, std::less<>> kIgnored = {
    "description", "title",    "default",   "examples",         "example",   "$schema",
    "$id",         "$comment", "deprecated", "readOnly",        "writeOnly", "$defs",
    "definitions", "discriminator", "contentMediaType", "contentEncoding"};

// Formats checked by a built-in pattern; other formats are annotations (ignored).
const char* format_pattern(std::string_view f) {
  static constexpr const char* kDate =
      R"(\d{4}-((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31))";
  static constexpr const char* kTime =
      R"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d))";
  static const std::string date = std::string("^") + kDate + "$";
  static const std::string time = std::string("^") + kTime + "$";
  static const std::string date_time = std::string("^") + kDate + "T" + kTime + "$";
  if (f == "date") return date.c_str();
  if (f == "time") return time.c_str();
  if (f == "date-time") return date_time.c_str();
  if (f == "uuid") return "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
  if (f == "email") return "^[a-z0-9]+@[a-z0-9]+\\.[a-z]{2,6}$";
  return nullptr;
}

std::string pointer_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

[[noreturn]] void refuse(const std::string& keyword, const std::string& path,
                         const std::string& detail = "") {
  throw Error(ErrorKind::unsupported, "json_schema uses '" + keyword + "'" + detail + " at " +
                                          path + ", which hearth does not support");
}
[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::invalid_input, "json_schema at " + path + ": " + what);
}

class Compiler {
 public:
  Compiler(const json::value& doc, JsonSchema& out) : doc_(doc), out_(out) {}

  int at_pointer(const std::string& ref, const std::string& from, int depth) {
    if (auto it = memo_.find(ref); it != memo_.end()) return it->second;
    if (ref.empty() || ref[0] != '#') refuse("$ref", from, " to '" + ref + "' (only '#...' within the schema)");
    if (depth > 64) bad(from, "$ref '" + ref + "' loops without reaching a schema");
    boost::system::error_code ec;
    const json::value* target = doc_.find_pointer(std::string_view(ref).substr(1), ec);
    if (!target) bad(from, "$ref '" + ref + "' points at nothing in the schema");
    return compile(*target, ref, depth + 1);
  }

  int compile(const json::value& v, const std::string& path, int depth) {
    if (auto it = memo_.find(path); it != memo_.end()) return it->second;
    if (v.is_bool()) {
      if (!v.get_bool()) bad(path, "the schema 'false' accepts no value");
      return memo_[path] = any();
    }
    if (!v.is_object()) bad(path, "a schema must be an object or a boolean");
    const json::object& o = v.get_object();
    std::vector<std::string> constraining;
    for (const auto& kv : o) {
      const std::string k(kv.key());
      if (kIgnored.count(k) || k.rfind("x-", 0) == 0) continue;
      if (!kSupported.count(k)) refuse(k, path);
      constraining.push_back(k);
    }
    auto beside = [&](const char* key, std::initializer_list<const char*> allowed) {
      for (const auto& k : constraining) {
        if (k == key) continue;
        bool ok = false;
        for (const char* a : allowed) ok = ok || k == a;
        if (!ok) refuse(key, path, " beside '" + k + "'");
      }
    };
    if (const auto* ref = o.if_contains("$ref")) {
      beside("$ref", {});
      if (!ref->is_string()) bad(path, "'$ref' must be a string");
      return memo_[path] = at_pointer(std::string(ref->get_string()), path, depth);
    }
    if (const auto* all = o.if_contains("allOf")) {
      beside("allOf", {});
      if (!all->is_array() || all->get_array().size() != 1)
        refuse("allOf", path, " with other than one schema");
      return memo_[path] = compile(all->get_array()[0], path + "/allOf/0", depth + 1);
    }
    const int idx = add();
    memo_[path] = idx;
    const bool nullable = o.contains("nullable") && o.at("nullable").is_bool() &&
                          o.at("nullable").get_bool();
    for (const char* key : {"anyOf", "oneOf"}) {
      const auto* alts = o.if_contains(key);
      if (!alts) continue;
      beside(key, {"nullable"});
      if (!alts->is_array() || alts->get_array().empty())
        bad(path, std::string("'") + key + "' must be a non-empty array of schemas");
      std::vector<int> kids;
      const auto& arr = alts->get_array();
      for (size_t i = 0; i < arr.size(); ++i)
        kids.push_back(compile(arr[i], path + "/" + key + "/" + std::to_string(i), depth + 1));
      if (nullable) kids.push_back(literal({"null"}));
      node(idx).kind = SchemaNode::Kind::any_of;
      node(idx).alts = std::move(kids);
      return idx;
    }
    if (o.contains("enum") || o.contains("const")) {
      std::vector<std::string> texts;
      if (const auto* c = o.if_contains("const")) {
        texts.push_back(json::serialize(*c));
      } else {
        const auto& e = o.at("enum");
        if (!e.is_array() || e.get_array().empty()) bad(path, "'enum' must be a non-empty array");
        for (const auto& x : e.get_array()) texts.push_back(json::serialize(x));
      }
      if (nullable) texts.push_back("null");
      node(idx).kind = SchemaNode::Kind::literal;
      node(idx).texts = std::move(texts);
      return idx;
    }
    std::vector<std::string> kinds;
    if (const auto* t = o.if_contains("type")) {
      if (t->is_string()) {
        kinds.emplace_back(t->get_string());
      } else if (t->is_array() && !t->get_array().empty()) {
        for (const auto& x : t->get_array()) {
          if (!x.is_string()) bad(path, "'type' must be a string or an array of strings");
          kinds.emplace_back(x.get_string());
        }
      } else {
        bad(path, "'type' must be a string or an array of strings");
      }
    } else {
      auto has = [&](std::initializer_list<const char*> keys) {
        for (const char* k : keys)
          if (o.contains(k)) return true;
        return false;
      };
      if (has({"properties", "required", "additionalProperties"})) kinds.push_back("object");
      if (has({"items", "minItems", "maxItems"})) kinds.push_back("array");
      if (has({"minLength", "maxLength", "pattern", "format"})) kinds.push_back("string");
      if (has({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}))
        kinds.push_back("number");
      if (kinds.empty()) kinds = {"object", "array", "string", "number", "boolean", "null"};
    }
    if (nullable) kinds.push_back("null");
    if (kinds.size() == 1) {
      fill(idx, kinds[0], o, path, depth);
      return idx;
    }
    std::vector<int> kids;
    for (const auto& k : kinds) {
      const int kid = add();
      fill(kid, k, o, path, depth);
      kids.push_back(kid);
    }
    node(idx).kind = SchemaNode::Kind::any_of;
    node(idx).alts = std::move(kids);
    return idx;
  }

 private:
  SchemaNode& node(int i) { return out_.nodes[static_cast<size_t>(i)]; }
  int add() {
    if (out_.nodes.size() >= kMaxNodes)
      throw Error(ErrorKind::unsupported, "json_schema is too large (over " +
                                              std::to_string(kMaxNodes) + " schemas in it)");
    out_.nodes.emplace_back();
    return static_cast<int>(out_.nodes.size() - 1);
  }
  int literal(std::vector<std::string> texts) {
    const int i = add();
    node(i).kind = SchemaNode::Kind::literal;
    node(i).texts = std::move(texts);
    return i;
  }

  // Any JSON value (an empty schema, `true`, a missing `items`).
  int any() {
    if (any_ >= 0) return any_;
    any_ = add();
    const int obj = add(), arr = add(), str = add(), num = add();
    node(obj).kind = SchemaNode::Kind::object;
    node(obj).additional = any_;
    node(arr).kind = SchemaNode::Kind::array;
    node(arr).items = any_;
    node(str).kind = SchemaNode::Kind::string;
    node(num).kind = SchemaNode::Kind::number;
    const int boolean = literal({"true", "false"}), null = literal({"null"});
    node(any_).kind = SchemaNode::Kind::any_of;
    node(any_).alts = {obj, arr, str, num, boolean, null};
    return any_;
  }

  static int count(const json::object& o, const char* key, const std::string& path) {
    const auto* v = o.if_contains(key);
    if (!v) return -1;
    if (!v->is_number()) bad(path, std::string("'") + key + "' must be a non-negative integer");
    boost::system::error_code ec;
    const auto n = v->to_number<int64_t>(ec);
    if (ec || n < 0) bad(path, std::string("'") + key + "' must be a non-negative integer");
    return static_cast<int>(std::min<int64_t>(n, INT_MAX));
  }
  static bool bound(const json::object& o, const char* key, const std::string& path, double& out) {
    const auto* v = o.if_contains(key);
    if (!v || v->is_bool()) return false;  // draft 4's boolean exclusive* are read with min/max
    if (!v->is_number()) bad(path, std::string("'") + key + "' must be a number");
    out = v->to_number<double>();
    return true;
  }
  static bool flag(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->get_bool();
  }

  void fill(int idx, const std::string& kind, const json::object& o, const std::string& path,
            int depth) {
    using K = SchemaNode::Kind;
    if (kind == "object") {
      node(idx).kind = K::object;
      std::vector<SchemaNode::Prop> props;
      if (const auto* p = o.if_contains("properties")) {
        if (!p->is_object()) bad(path, "'properties' must be an object");
        if (p->get_object().size() > kMaxProperties)
          refuse("properties", path, " with over " + std::to_string(kMaxProperties) + " names");
        for (const auto& kv : p->get_object()) {
          const std::string name(kv.key());
          std::string key = json::serialize(json::string(name));
          key = key.substr(1, key.size() - 2);
          props.push_back({key, compile(kv.value(), path + "/properties/" + pointer_escape(name),
                                        depth + 1),
                           false});
        }
      }
      if (const auto* r = o.if_contains("required")) {
        if (!r->is_array()) bad(path, "'required' must be an array of names");
        for (const auto& x : r->get_array()) {
          if (!x.is_string()) bad(path, "'required' must be an array of names");
          const std::string name(x.get_string());
          std::string key = json::serialize(json::string(name));
          key = key.substr(1, key.size() - 2);
          bool found = false;
          for (auto& p : props)
            if (p.key == key) found = p.required = true;
          if (!found) refuse("required", path, " with '" + name + "', which 'properties' does not define,");
        }
      }
      int additional = -1;
      if (const auto* a = o.if_contains("additionalProperties")) {
        if (a->is_bool()) {
          additional = a->get_bool() ? any() : -1;
        } else {
          additional = compile(*a, path + "/additionalProperties", depth + 1);
        }
      } else if (!o.contains("properties")) {
        additional = any();
      }
      node(idx).props = std::move(props);
      node(idx).additional = additional;
    } else if (kind == "array") {
      node(idx).kind = K::array;
      int items = -1;
      if (const auto* it = o.if_contains("items")) {
        if (it->is_array()) refuse("items", path, " as an array (tuple form)");
        if (it->is_bool() && !it->get_bool()) {
          node(idx).max_items = 0;
        } else {
          items = compile(*it, path + "/items", depth + 1);
        }
      } else {
        items = any();
      }
      node(idx).items = items;
      if (const int n = count(o, "minItems", path); n >= 0) node(idx).min_items = n;
      if (const int n = count(o, "maxItems", path); n >= 0)
        node(idx).max_items = std::min(node(idx).max_items, n);
      if (flag(o, "uniqueItems")) refuse("uniqueItems", path);
    } else if (kind == "string") {
      node(idx).kind = K::string;
      if (const int n = count(o, "minLength", path); n >= 0) node(idx).min_len = n;
      if (const int n = count(o, "maxLength", path); n >= 0) node(idx).max_len = n;
      std::string pattern;
      if (const auto* p = o.if_contains("pattern")) {
        if (!p->is_string()) bad(path, "'pattern' must be a string");
        pattern = std::string(p->get_string());
      }
      if (const auto* f = o.if_contains("format")) {
        if (!f->is_string()) bad(path, "'format' must be a string");
        if (const char* fp = format_pattern(f->get_string())) {
          if (!pattern.empty()) refuse("format", path, " together with 'pattern'");
          pattern = fp;
        }
      }
      if (!pattern.empty() || o.contains("pattern")) {
        try {
          node(idx).regex = std::make_shared<JsonRegex>(pattern);
        } catch (const Error& e) {
          throw Error(e.kind(), "json_schema at " + path + ": " + e.what());
        }
      }
    } else if (kind == "number" || kind == "integer") {
      SchemaNode& n = node(idx);
      n.kind = K::number;
      n.integer = kind == "integer";
      double v = 0;
      if (bound(o, "minimum", path, v)) {
        n.has_lo = true;
        n.lo = v;
        n.lo_excl = flag(o, "exclusiveMinimum");
      }
      if (bound(o, "exclusiveMinimum", path, v) && (!n.has_lo || v >= n.lo)) {
        n.has_lo = n.lo_excl = true;
        n.lo = v;
      }
      if (bound(o, "maximum", path, v)) {
        n.has_hi = true;
        n.hi = v;
        n.hi_excl = flag(o, "exclusiveMaximum");
      }
      if (bound(o, "exclusiveMaximum", path, v) && (!n.has_hi || v <= n.hi)) {
        n.has_hi = n.hi_excl = true;
        n.hi = v;
      }
    } else if (kind == "boolean") {
      node(idx).kind = K::literal;
      node(idx).texts = {"true", "false"};
    } else if (kind == "null") {
      node(idx).kind = K::literal;
      node(idx).texts = {"null"};
    } else {
      bad(path, "unknown type '" + kind +
                    "' (one of object, array, string, number, integer, boolean, null)");
    }
  }

  const json::value& doc_;
  JsonSchema& out_;
  std::unordered_map<std::string, int> memo_;
  int any_ = -1;
};

// Each node's shortest value, by rounds until nothing gets shorter (loops through $ref settle
// because a value must be finite; a node left without one has no finite value).
void shortest_values(JsonSchema& s) {
  using K = SchemaNode::Kind;
  auto shorter = [](std::optional<std::string>& cur, std::string cand) {
    if (cur && cur->size() <= cand.size()) return false;
    cur = std::move(cand);
    return true;
  };
  for (auto& n : s.nodes) {
    if (n.kind == K::string) {
      std::optional<std::string> body;
      if (n.regex) {
        body = n.regex->shortest(n.regex->start(), 0, n.min_len, n.max_len);
      } else if (n.min_len <= n.max_len) {
        body = std::string(static_cast<size_t>(n.min_len), 'a');
      }
      if (body) n.min_text = "\"" + *body + "\"";
    } else if (n.kind == K::number) {
      if (auto t = number::finish(n, JsonSchemaState::Frame{})) n.min_text = *t;
    } else if (n.kind == K::literal) {
      for (const auto& t : n.texts) shorter(n.min_text, t);
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& n : s.nodes) {
      auto text = [&](int i) -> const std::optional<std::string>& {
        return s.nodes[static_cast<size_t>(i)].min_text;
      };
      if (n.kind == K::any_of) {
        for (int a : n.alts)
          if (text(a)) changed |= shorter(n.min_text, *text(a));
      } else if (n.kind == K::object) {
        std::string t = "{";
        bool ok = true;
        for (const auto& p : n.props) {
          if (!p.required) continue;
          if (!text(p.node)) {
            ok = false;
            break;
          }
          if (t.size() > 1) t += ',';
          t += "\"" + p.key + "\":" + *text(p.node);
        }
        if (ok) changed |= shorter(n.min_text, t + "}");
      } else if (n.kind == K::array) {
        if (n.min_items > n.max_items) continue;
        if (n.min_items == 0) {
          changed |= shorter(n.min_text, "[]");
        } else if (n.items >= 0 && text(n.items)) {
          std::string t = "[";
          for (int k = 0; k < n.min_items; ++k) t += (k ? "," : "") + *text(n.items);
          changed |= shorter(n.min_text, t + "]");
        }
      }
    }
  }
}

}  // namespace

std::shared_ptr<const JsonSchema> compile_json_schema(std::string_view schema_text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(schema_text, ec);
  if (ec) throw Error(ErrorKind::invalid_input, "json_schema is not valid JSON: " + ec.message());
  auto out = std::make_shared<JsonSchema>();
  Compiler c(doc, *out);
  out->root = c.compile(doc, "#", 0);
  shortest_values(*out);
  if (!out->nodes[static_cast<size_t>(out->root)].min_text)
    throw Error(ErrorKind::invalid_input,
                "json_schema has no finite value that satisfies it (check required properties "
                "that refer back to themselves, minItems above maxItems, empty ranges)");
  return out;
}

void check_json_schema(std::string_view schema_text, std::string_view field) {
  if (schema_text.empty()) return;
  try {
    compile_json_schema(schema_text);
  } catch (const Error& e) {
    throw Error(e.kind(), "field '" + std::string(field) + "': " + e.what());
  }
}

}  // namespace hearth::generate
