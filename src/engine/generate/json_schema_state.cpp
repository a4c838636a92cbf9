// The checker's walk (json_schema.h): feeding bytes to every live alternative's frame stack
// (the completions are in json_schema_finish.cpp).
#include <algorithm>

#include "engine/generate/json_schema_nodes.h"

namespace hearth::generate {

namespace {

using Frame = JsonSchemaState::Frame;
using Thread = JsonSchemaState::Thread;
using K = SchemaNode::Kind;
using namespace frames;


constexpr int kMaxLeadingSpace = 4;
constexpr int kMaxSpaceRun = 24;
constexpr size_t kMaxDepth = 48;
constexpr size_t kMaxThreads = 128;  // alternatives alive at once (e.g. one per tool)
constexpr size_t kMaxMemo = 100000;

bool is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// UTF-8 inside strings: a frame's `c` holds the continuation bytes still due (times 8) and which
// range the next one must be in (RFC 3629's table: no overlong forms, no surrogates), so every
// string is whole UTF-8 and the detokenized text equals the bytes checked.
bool utf8_continues(int range, unsigned char c) {
  static constexpr unsigned char lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
  static constexpr unsigned char hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
  return c >= lo[range] && c <= hi[range];
}
// Feeds a byte to a string's UTF-8 state: 1 taken (a lead or continuation byte), 0 refused,
// -1 an ASCII byte with nothing due (the caller reads it).
int utf8_feed(int32_t& state, unsigned char c) {
  if (state > 0) {
    if (!utf8_continues(state % 8, c)) return 0;
    state = (state / 8 - 1) * 8;
    return 1;
  }
  if (c < 0x80) return -1;
  int due = 0, range = 0;
  if (c >= 0xC2 && c <= 0xDF) due = 1;
  else if (c == 0xE0) due = 2, range = 1;
  else if (c == 0xED) due = 2, range = 2;
  else if (c >= 0xE1 && c <= 0xEF) due = 2;
  else if (c == 0xF0) due = 3, range = 3;
  else if (c == 0xF4) due = 3, range = 4;
  else if (c >= 0xF1 && c <= 0xF3) due = 3;
  else return 0;
  state = due * 8 + range;
  return 1;
}
bool between_tokens(const Frame& f) {
  switch (f.type) {
    case t_root:
      return f.phase == r_value;
    case t_object:
      return f.phase != o_in_key && f.phase != o_in_value;
    case t_array:
      return f.phase != a_in_value;
    default:
      return false;
  }
}

class Walker {
 public:
  Walker(const JsonSchema& s, std::vector<Thread>& out) : s_(s), out_(out) {}

  void feed(Thread t, unsigned char c) {
    if (between_tokens(t.back()) && is_ws(c)) {
      if (++t[0].c > (t.size() == 1 ? kMaxLeadingSpace : kMaxSpaceRun)) return;
      return keep(std::move(t));
    }
    t[0].c = 0;
    Frame& f = t.back();
    switch (f.type) {
      case t_root:
        if (f.phase != r_value) return;
        f.phase = r_in_value;
        return start(std::move(t), s_.root, c);
      case t_object:
        return object(std::move(t), c);
      case t_array:
        return array(std::move(t), c);
      case t_string:
        return string(std::move(t), c);
      case t_number: {
        const SchemaNode& n = node(f.node);
        if (number::extend(n, f, c)) return keep(std::move(t));
        if (!number::can_end(n, f)) return;
        end(t);
        return feed(std::move(t), c);  // the byte belongs to what follows the number
      }
      case t_literal:
        return literal(std::move(t), c);
    }
  }

 private:
  const SchemaNode& node(int i) const { return s_.nodes[static_cast<size_t>(i)]; }
  void keep(Thread t) { out_.push_back(std::move(t)); }

  static void end(Thread& t) {
    t.pop_back();
    Frame& p = t.back();
    if (p.type == t_root) {
      p.phase = r_done;
    } else if (p.type == t_object) {
      p.phase = o_after;
    } else {
      ++p.a;
      p.phase = a_after;
    }
  }

  void start(Thread t, int idx, unsigned char c) {
    const SchemaNode& n = node(idx);
    if (!n.min_text || t.size() >= kMaxDepth) return;
    Frame f;
    f.node = idx;
    switch (n.kind) {
      case K::any_of:
        for (int alt : n.alts) start(t, alt, c);
        return;
      case K::object:
        if (c != '{') return;
        f.type = t_object;
        f.b = -1;
        break;
      case K::array:
        if (c != '[') return;
        f.type = t_array;
        break;
      case K::string:
        if (c != '"') return;
        f.type = t_string;
        if (n.regex) f.buf = n.regex->start();
        break;
      case K::number:
        f.type = t_number;
        if (!number::extend(n, f, c)) return;
        break;
      case K::literal:
        f.type = t_literal;
        t.push_back(std::move(f));
        return literal(std::move(t), c);
    }
    t.push_back(std::move(f));
    keep(std::move(t));
  }

  static bool required_from(const SchemaNode& n, int a) {
    for (size_t p = static_cast<size_t>(a); p < n.props.size(); ++p)
      if (n.props[p].required) return true;
    return false;
  }
  // Property p may be the next key of an object whose next allowed index is a.
  bool candidate(const SchemaNode& n, int a, size_t p) const {
    if (p < static_cast<size_t>(a) || !node(n.props[p].node).min_text) return false;
    for (size_t q = static_cast<size_t>(a); q < p; ++q)
      if (n.props[q].required) return false;
    return true;
  }
  bool additional_ok(const SchemaNode& n, int a) const {
    return n.additional >= 0 && node(n.additional).min_text && !required_from(n, a);
  }
  bool declared(const SchemaNode& n, const std::string& key) const {
    for (const auto& p : n.props)
      if (p.key == key) return true;
    return false;
  }
  bool key_viable(const SchemaNode& n, const Frame& f) const {
    if (additional_ok(n, f.a)) return true;
    for (size_t p = 0; p < n.props.size(); ++p)
      if (candidate(n, f.a, p) && n.props[p].key.compare(0, f.buf.size(), f.buf) == 0 &&
          n.props[p].key.size() >= f.buf.size())
        return true;
    return false;
  }

  void object(Thread t, unsigned char c) {
    Frame& f = t.back();
    const SchemaNode& n = node(f.node);
    switch (f.phase) {
      case o_first:
      case o_key_wait:
        if (c == '}' && f.phase == o_first) {
          if (required_from(n, f.a)) return;
          end(t);
          return keep(std::move(t));
        }
        if (c != '"') return;
        f.phase = o_in_key;
        f.buf.clear();
        f.sub = 0;
        f.c = 0;
        if (key_viable(n, f)) keep(std::move(t));
        return;
      case o_in_key:
        if (f.sub == 0) {
          const int u = utf8_feed(f.c, c);
          if (u == 0) return;
          if (u == 1) {
            f.buf.push_back(static_cast<char>(c));
            if (key_viable(n, f)) keep(std::move(t));
            return;
          }
          if (c == '"') {
            for (size_t p = 0; p < n.props.size(); ++p) {
              if (n.props[p].key == f.buf && candidate(n, f.a, p)) {
                f.b = static_cast<int>(p);
                f.a = static_cast<int>(p) + 1;
                f.phase = o_colon;
                return keep(std::move(t));
              }
            }
            if (!additional_ok(n, f.a) || declared(n, f.buf)) return;
            f.b = -1;
            f.a = static_cast<int>(n.props.size());
            f.phase = o_colon;
            return keep(std::move(t));
          }
          if (c < 0x20) return;
          if (c == '\\') f.sub = 1;
        } else if (f.sub == 1) {
          if (c == 'u') {
            f.sub = 2;
          } else if (std::string_view("\"\\/bfnrt").find(static_cast<char>(c)) !=
                     std::string_view::npos) {
            f.sub = 0;
          } else {
            return;
          }
        } else {
          if (!is_hex(c)) return;
          f.sub = f.sub == 5 ? 0 : static_cast<uint8_t>(f.sub + 1);
        }
        f.buf.push_back(static_cast<char>(c));
        if (key_viable(n, f)) keep(std::move(t));
        return;
      case o_colon:
        if (c != ':') return;
        f.phase = o_value_wait;
        return keep(std::move(t));
      case o_value_wait: {
        const int child = f.b >= 0 ? n.props[static_cast<size_t>(f.b)].node : n.additional;
        f.phase = o_in_value;
        return start(std::move(t), child, c);
      }
      case o_after:
        if (c == '}') {
          if (required_from(n, f.a)) return;
          end(t);
          return keep(std::move(t));
        }
        if (c != ',') return;
        if (!additional_ok(n, f.a)) {
          bool any = false;
          for (size_t p = 0; p < n.props.size() && !any; ++p) any = candidate(n, f.a, p);
          if (!any) return;
        }
        f.phase = o_key_wait;
        return keep(std::move(t));
      default:
        return;
    }
  }

  void array(Thread t, unsigned char c) {
    Frame& f = t.back();
    const SchemaNode& n = node(f.node);
    switch (f.phase) {
      case a_first:
        if (c == ']') {
          if (n.min_items > 0) return;
          end(t);
          return keep(std::move(t));
        }
        if (n.max_items <= 0 || n.items < 0) return;
        f.phase = a_in_value;
        return start(std::move(t), n.items, c);
      case a_value_wait:
        f.phase = a_in_value;
        return start(std::move(t), n.items, c);
      case a_after:
        if (c == ']') {
          if (f.a < n.min_items) return;
          end(t);
          return keep(std::move(t));
        }
        if (c != ',' || f.a >= n.max_items) return;
        f.phase = a_value_wait;
        return keep(std::move(t));
      default:
        return;
    }
  }

  void string(Thread t, unsigned char c) {
    Frame& f = t.back();
    const SchemaNode& n = node(f.node);
    if (f.sub == 1) {
      if (c == 'u') {
        f.sub = 2;
      } else if (std::string_view("\"\\/bfnrt").find(static_cast<char>(c)) !=
                 std::string_view::npos) {
        f.sub = 0;
      } else {
        return;
      }
      return keep(std::move(t));
    }
    if (f.sub >= 2) {
      if (!is_hex(c)) return;
      f.sub = f.sub == 5 ? 0 : static_cast<uint8_t>(f.sub + 1);
      return keep(std::move(t));
    }
    if (!n.regex) {
      const int u = utf8_feed(f.c, c);
      if (u == 0) return;
      if (u == 1) {
        if (c >= 0xC0 && ++f.a > n.max_len) return;  // a character starts here
        return keep(std::move(t));
      }
    }
    if (c == '"') {
      if (f.a < n.min_len || (n.regex && !n.regex->accepts(f.buf))) return;
      end(t);
      return keep(std::move(t));
    }
    if (c < 0x20) return;
    if (n.regex) {
      if (!JsonRegex::in_alphabet(c) || f.a + 1 > n.max_len) return;
      std::string next = n.regex->step(f.buf, c);
      if (next.empty() || !s_.pattern_tail(f.node, next, f.a + 1)) return;
      f.buf = std::move(next);
      ++f.a;
      return keep(std::move(t));
    }
    if (c == '\\') f.sub = 1;
    if (++f.a > n.max_len) return;
    keep(std::move(t));
  }

  void literal(Thread t, unsigned char c) {
    Frame& f = t.back();
    const SchemaNode& n = node(f.node);
    std::string next = f.buf + static_cast<char>(c);
    bool extends = false, exact = false, longer = false;
    for (const auto& text : n.texts) {
      if (text.compare(0, next.size(), next) != 0 || text.size() < next.size()) continue;
      extends = true;
      if (text.size() == next.size()) exact = true;
      else longer = true;
    }
    if (extends) {
      f.buf = std::move(next);
      if (exact && !longer) end(t);
      return keep(std::move(t));
    }
    if (std::find(n.texts.begin(), n.texts.end(), f.buf) == n.texts.end()) return;
    end(t);
    feed(std::move(t), c);
  }

  const JsonSchema& s_;
  std::vector<Thread>& out_;
};

}  // namespace

std::optional<std::string> JsonSchema::pattern_tail(int node, const std::string& set,
                                                    int length) const {
  std::string key = std::to_string(node) + ':' + std::to_string(length) + ':' + set;
  if (auto it = pattern_memo.find(key); it != pattern_memo.end()) return it->second;
  const SchemaNode& n = nodes[static_cast<size_t>(node)];
  auto tail = n.regex->shortest(set, length, n.min_len, n.max_len);
  if (pattern_memo.size() > kMaxMemo) pattern_memo.clear();
  pattern_memo.emplace(std::move(key), tail);
  return tail;
}

JsonSchemaState::JsonSchemaState(const JsonSchema& schema) : schema_(&schema) {
  Frame root;
  root.type = t_root;
  root.node = schema.root;
  threads_.push_back({root});
}

bool JsonSchemaState::feed(unsigned char c) {
  // The common case without copies: a plain character inside a string without a pattern.
  if (threads_.size() == 1) {
    Frame& f = threads_[0].back();
    if (f.type == t_string && f.sub == 0 && f.c == 0 && c >= 0x20 && c < 0x80 && c != '"' &&
        c != '\\') {
      const SchemaNode& n = schema_->nodes[static_cast<size_t>(f.node)];
      if (!n.regex) {
        if (f.a + 1 > n.max_len) return false;
        ++f.a;
        threads_[0][0].c = 0;
        return true;
      }
    }
  }
  std::vector<Thread> next;
  Walker w(*schema_, next);
  for (auto& t : threads_) w.feed(std::move(t), c);
  // Alternatives that met again are one; a bounded number stay (dropping one only narrows
  // what may be written).
  std::vector<Thread> unique;
  for (auto& t : next) {
    if (unique.size() >= kMaxThreads) break;
    if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(std::move(t));
  }
  threads_ = std::move(unique);
  return !threads_.empty();
}

bool JsonSchemaState::accepts(std::string_view text) const {
  // Inside a string without a pattern, plain characters are counted without copying the state
  // (the sampler asks this of every token of the vocabulary).
  size_t i = 0;
  int32_t utf8 = 0;
  int chars = 0;
  if (threads_.size() == 1) {
    const Frame& f = threads_[0].back();
    const SchemaNode& n = schema_->nodes[static_cast<size_t>(f.node)];
    if (f.type == t_string && f.sub == 0 && !n.regex) {
      utf8 = f.c;
      chars = f.a;
      for (; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const int u = utf8_feed(utf8, c);
        if (u == 0) return false;
        if (u == 1) {
          if (c >= 0xC0 && ++chars > n.max_len) return false;
          continue;
        }
        if (c < 0x20 || c == '"' || c == '\\') break;
        if (++chars > n.max_len) return false;
      }
      if (i == text.size()) return true;
    }
  }
  JsonSchemaState copy = *this;
  if (i > 0) {
    Frame& g = copy.threads_[0].back();
    g.c = utf8;
    g.a = chars;
    copy.threads_[0][0].c = 0;
  }
  return copy.feed(text.substr(i));
}

bool JsonSchemaState::feed(std::string_view text) {
  for (char ch : text)
    if (!feed(static_cast<unsigned char>(ch))) return false;
  return true;
}

bool JsonSchemaState::complete() const {
  for (const auto& t : threads_) {
    if (t[0].phase == r_done) return true;
    if (t.size() != 2) continue;
    const Frame& f = t[1];
    const SchemaNode& n = schema_->nodes[static_cast<size_t>(f.node)];
    if (f.type == t_number && number::can_end(n, f)) return true;
    if (f.type == t_literal && std::find(n.texts.begin(), n.texts.end(), f.buf) != n.texts.end())
      return true;
  }
  return false;
}

std::string JsonSchemaState::completion() const {
  if (complete()) return {};
  std::optional<std::string> best;
  for (const auto& t : threads_) {
    auto c = thread_completion(*schema_, t);
    if (c && (!best || c->size() < best->size())) best = std::move(c);
  }
  return best.value_or(std::string());
}

}  // namespace hearth::generate
