// Completions (json_schema.h): the shortest text that finishes a frame stack, frame by frame
// from the innermost value outwards, each frame's part built from the nodes' shortest values.
#include <algorithm>

#include "engine/generate/json_schema_nodes.h"

namespace hearth::generate {

namespace {

using Frame = JsonSchemaState::Frame;
using Thread = JsonSchemaState::Thread;
using namespace frames;

// The text that finishes frame f (a child of it, if any, having just ended).
class Finisher {
 public:
  explicit Finisher(const JsonSchema& s) : s_(s) {}

  std::optional<std::string> frame(const Frame& f, bool child) const {
    switch (f.type) {
      case t_root:
        if (child || f.phase == r_done) return std::string();
        return min(s_.root);
      case t_object:
        return object(f, child);
      case t_array:
        return array(f, child);
      case t_string:
        return string(f);
      case t_number:
        return number::finish(node(f.node), f);
      case t_literal: {
        std::optional<std::string> best;
        for (const auto& text : node(f.node).texts)
          if (text.size() >= f.buf.size() && text.compare(0, f.buf.size(), f.buf) == 0 &&
              (!best || text.size() - f.buf.size() < best->size()))
            best = text.substr(f.buf.size());
        return best;
      }
      default:
        return std::nullopt;
    }
  }

 private:
  const SchemaNode& node(int i) const { return s_.nodes[static_cast<size_t>(i)]; }
  const std::optional<std::string>& min(int i) const { return node(i).min_text; }

  // The remaining required properties from index `from` and the closing brace.
  std::optional<std::string> rest(const SchemaNode& n, size_t from, bool comma) const {
    std::string out;
    for (size_t p = from; p < n.props.size(); ++p) {
      if (!n.props[p].required) continue;
      if (!min(n.props[p].node)) return std::nullopt;
      if (comma) out += ',';
      comma = true;
      out += "\"" + n.props[p].key + "\":" + *min(n.props[p].node);
    }
    return out + "}";
  }
  static void take(std::optional<std::string>& best, const std::optional<std::string>& cand) {
    if (cand && (!best || cand->size() < best->size())) best = cand;
  }
  std::optional<std::string> join(std::initializer_list<std::optional<std::string>> parts) const {
    std::string out;
    for (const auto& p : parts) {
      if (!p) return std::nullopt;
      out += *p;
    }
    return out;
  }
  bool required_before(const SchemaNode& n, int a, size_t p) const {
    for (size_t q = static_cast<size_t>(a); q < p; ++q)
      if (n.props[q].required) return true;
    return false;
  }
  bool required_from(const SchemaNode& n, int a) const {
    return required_before(n, a, n.props.size());
  }

  // A key that is not a declared property, starting with `prefix`.
  std::string other_key(const SchemaNode& n, std::string key) const {
    auto taken = [&](const std::string& k) {
      for (const auto& p : n.props)
        if (p.key == k) return true;
      return false;
    };
    while (taken(key)) key += '_';
    return key;
  }

  std::optional<std::string> object(const Frame& f, bool child) const {
    const SchemaNode& n = node(f.node);
    const auto a = static_cast<size_t>(f.a);
    if (child || f.phase == o_after) return rest(n, a, true);
    if (f.phase == o_first && (required_from(n, f.a) || (n.props.empty() && n.additional < 0)))
      return rest(n, 0, false);
    if (f.phase == o_first) return std::string("}");
    const int value = f.b >= 0 ? n.props[static_cast<size_t>(f.b)].node : n.additional;
    if (f.phase == o_colon) return join({":", min(value), rest(n, a, true)});
    if (f.phase == o_value_wait) return join({min(value), rest(n, a, true)});
    // o_key_wait (a key must come) or o_in_key (finish the key being written).
    const bool in_key = f.phase == o_in_key;
    if (!in_key && required_from(n, f.a)) return rest(n, a, false);
    std::optional<std::string> best;
    for (size_t p = a; p < n.props.size(); ++p) {
      if (required_before(n, f.a, p) || !min(n.props[p].node)) continue;
      const std::string& key = n.props[p].key;
      if (in_key && (key.size() < f.buf.size() || key.compare(0, f.buf.size(), f.buf) != 0))
        continue;
      take(best, join({in_key ? key.substr(f.buf.size()) : "\"" + key, "\":",
                       min(n.props[p].node), rest(n, p + 1, true)}));
    }
    if (n.additional >= 0 && min(n.additional) && !required_from(n, f.a)) {
      std::string tail = in_key ? utf8_finish(f.c) : "";
      if (in_key && f.sub == 1) tail = "n";
      if (in_key && f.sub >= 2) tail = std::string(static_cast<size_t>(6 - f.sub), '0');
      const std::string key = other_key(n, (in_key ? f.buf : "") + tail);
      const std::string written = in_key ? key.substr(f.buf.size()) : "\"" + key;
      take(best, join({written, "\":", min(n.additional), "}"}));
    }
    return best;
  }

  std::optional<std::string> array(const Frame& f, bool child) const {
    const SchemaNode& n = node(f.node);
    const int count = f.a + (child ? 1 : 0);
    std::string out;
    int need = 0;
    bool comma = true;
    if (child || f.phase == a_after) {
      need = std::max(0, n.min_items - count);
    } else if (f.phase == a_first) {
      need = n.min_items;
      comma = false;
    } else {  // after ','
      need = std::max(1, n.min_items - count);
      comma = false;
    }
    if (need > 0 && (n.items < 0 || !min(n.items))) return std::nullopt;
    for (int k = 0; k < need; ++k) {
      if (comma) out += ',';
      comma = true;
      out += *min(n.items);
    }
    return out + "]";
  }

  std::optional<std::string> string(const Frame& f) const {
    const SchemaNode& n = node(f.node);
    std::string out = utf8_finish(f.c);
    if (f.sub == 1) out = "n";
    if (f.sub >= 2) out = std::string(static_cast<size_t>(6 - f.sub), '0');
    if (n.regex) {
      auto tail = s_.pattern_tail(f.node, f.buf, f.a);
      if (!tail) return std::nullopt;
      out += *tail;
    } else if (f.a < n.min_len) {
      out += std::string(static_cast<size_t>(n.min_len - f.a), 'a');
    }
    return out + "\"";
  }

  const JsonSchema& s_;
};

}  // namespace

std::optional<std::string> thread_completion(const JsonSchema& s, const Thread& t) {
  Finisher fin(s);
  std::string out;
  for (size_t i = t.size(); i-- > 0;) {
    auto part = fin.frame(t[i], i + 1 < t.size());
    if (!part) return std::nullopt;
    out += *part;
  }
  return out;
}

// The bytes that finish a character begun in a string.
std::string utf8_finish(int32_t state) {
  std::string out;
  if (state <= 0) return out;
  static constexpr unsigned char first[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
  out.push_back(static_cast<char>(first[state % 8]));
  out.append(static_cast<size_t>(state / 8 - 1), static_cast<char>(0x80));
  return out;
}

}  // namespace hearth::generate
