#include "engine/generate/json_regex.h"

#include <cctype>
#include <deque>
#include <unordered_set>

#include "core/error.h"

namespace hearth::generate {

namespace {

constexpr size_t kMaxStates = 1000;
constexpr size_t kMaxPattern = 1000;  // characters of a pattern
constexpr int kMaxNesting = 50;       // groups inside groups
constexpr size_t kMaxWork = 20'000'000;  // state visits one shortest-completion search may make
constexpr int kMaxRepeat = 1000;
constexpr size_t kMaxSearch = 20000;  // sets a shortest-completion search may visit

using Cls = std::array<uint64_t, 2>;

void set_bit(Cls& c, unsigned char b) {
  if (b < 128) c[b / 64] |= uint64_t{1} << (b % 64);
}
bool has_bit(const Cls& c, unsigned char b) {
  return b < 128 && ((c[b / 64] >> (b % 64)) & 1);
}
Cls alphabet() {
  Cls c{};
  for (int b = 0; b < 128; ++b)
    if (JsonRegex::in_alphabet(static_cast<unsigned char>(b))) set_bit(c, static_cast<unsigned char>(b));
  return c;
}
Cls range(unsigned char lo, unsigned char hi) {
  Cls c{};
  for (int b = lo; b <= hi; ++b) set_bit(c, static_cast<unsigned char>(b));
  return c;
}
Cls unite(Cls a, const Cls& b) {
  a[0] |= b[0];
  a[1] |= b[1];
  return a;
}
Cls negate(const Cls& a) {
  const Cls all = alphabet();
  return {all[0] & ~a[0], all[1] & ~a[1]};
}

[[noreturn]] void unsupported(std::string_view pattern, const std::string& what) {
  throw Error(ErrorKind::unsupported, "pattern '" + std::string(pattern) + "' uses " + what +
                                          ", which hearth does not support");
}
[[noreturn]] void malformed(std::string_view pattern, const std::string& what) {
  throw Error(ErrorKind::invalid_input,
              "pattern '" + std::string(pattern) + "' is not a valid regular expression: " + what);
}

}  // namespace

struct JsonRegex::Tree {
  enum class Type { cls, cat, alt, rep } type = Type::cat;
  Cls cls{};
  std::vector<Tree> kids;
  int min = 0, max = 0;  // rep; max -1: unbounded
};

namespace {

// Recursive descent over the pattern (anchors already removed).
class Parser {
 public:
  Parser(std::string_view full, std::string_view p) : full_(full), p_(p) {}

  JsonRegex::Tree parse() {
    JsonRegex::Tree t = alt();
    if (i_ < p_.size()) malformed(full_, "unbalanced ')'");
    return t;
  }

 private:
  using Tree = JsonRegex::Tree;

  Tree alt() {
    Tree first = cat();
    if (i_ >= p_.size() || p_[i_] != '|') return first;
    Tree t;
    t.type = Tree::Type::alt;
    t.kids.push_back(std::move(first));
    while (i_ < p_.size() && p_[i_] == '|') {
      ++i_;
      t.kids.push_back(cat());
    }
    return t;
  }

  Tree cat() {
    Tree t;
    t.type = Tree::Type::cat;
    while (i_ < p_.size() && p_[i_] != '|' && p_[i_] != ')') t.kids.push_back(quantified());
    return t;
  }

  Tree quantified() {
    Tree a = atom();
    while (i_ < p_.size()) {
      int lo = 0, hi = -1;
      const char c = p_[i_];
      if (c == '*') {
        ++i_;
      } else if (c == '+') {
        lo = 1;
        ++i_;
      } else if (c == '?') {
        hi = 1;
        ++i_;
      } else if (c == '{') {
        ++i_;
        lo = number();
        hi = lo;
        if (i_ < p_.size() && p_[i_] == ',') {
          ++i_;
          hi = i_ < p_.size() && p_[i_] == '}' ? -1 : number();
        }
        if (i_ >= p_.size() || p_[i_] != '}') malformed(full_, "an unclosed '{'");
        ++i_;
        if (hi >= 0 && hi < lo) malformed(full_, "a repeat {n,m} with m < n");
      } else {
        break;
      }
      if (i_ < p_.size() && p_[i_] == '?') ++i_;  // lazy: the same set of strings
      if (i_ < p_.size() && p_[i_] == '+') unsupported(full_, "a possessive quantifier");
      Tree r;
      r.type = Tree::Type::rep;
      r.min = lo;
      r.max = hi;
      r.kids.push_back(std::move(a));
      a = std::move(r);
    }
    return a;
  }

  int number() {
    int n = 0;
    const size_t from = i_;
    while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
      n = n * 10 + (p_[i_++] - '0');
      if (n > kMaxRepeat) unsupported(full_, "a repeat count above " + std::to_string(kMaxRepeat));
    }
    if (i_ == from) malformed(full_, "a '{' without a count");
    return n;
  }

  Tree leaf(const Cls& c) {
    Tree t;
    t.type = Tree::Type::cls;
    t.cls = c;
    return t;
  }

  Tree atom() {
    const unsigned char c = static_cast<unsigned char>(p_[i_]);
    if (c == '(') {
      if (++nesting_ > kMaxNesting)
        unsupported(full_, "groups nested over " + std::to_string(kMaxNesting) + " deep");
      ++i_;
      if (i_ < p_.size() && p_[i_] == '?') {
        if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
          i_ += 2;
        } else {
          unsupported(full_, "a '(?' group (look-around or named group)");
        }
      }
      Tree t = alt();
      if (i_ >= p_.size() || p_[i_] != ')') malformed(full_, "an unclosed '('");
      ++i_;
      --nesting_;
      return t;
    }
    ++i_;
    switch (c) {
      case '[':
        return leaf(bracket());
      case '.':
        return leaf(alphabet());
      case '\\':
        return leaf(escape(false));
      case '^':
      case '$':
        unsupported(full_, std::string("'") + static_cast<char>(c) + "' inside the pattern");
      case '*':
      case '+':
      case '?':
      case '{':
        malformed(full_, std::string("nothing to repeat before '") + static_cast<char>(c) + "'");
      default:
        if (c >= 0x80) unsupported(full_, "non-ASCII characters");
        Cls one{};
        set_bit(one, c);
        return leaf(one);
    }
  }

  // After a backslash. In a class, \b would be a backspace: refused either way.
  Cls escape(bool in_class) {
    if (i_ >= p_.size()) malformed(full_, "a trailing backslash");
    const unsigned char c = static_cast<unsigned char>(p_[i_++]);
    const Cls digits = range('0', '9');
    const Cls word = unite(unite(unite(range('a', 'z'), range('A', 'Z')), digits), range('_', '_'));
    Cls space{};
    set_bit(space, ' ');
    switch (c) {
      case 'd': return digits;
      case 'D': return negate(digits);
      case 'w': return word;
      case 'W': return negate(word);
      case 's': return space;
      case 'S': return negate(space);
      case 'n': case 't': case 'r': case 'f': case 'v': return Cls{};  // never in our strings
      case 'x': case 'u': {
        const int len = c == 'x' ? 2 : 4;
        if (i_ + static_cast<size_t>(len) > p_.size()) malformed(full_, "a short \\x or \\u escape");
        const int v = std::stoi(std::string(p_.substr(i_, static_cast<size_t>(len))), nullptr, 16);
        i_ += static_cast<size_t>(len);
        if (v >= 0x80) unsupported(full_, "non-ASCII characters");
        Cls one{};
        set_bit(one, static_cast<unsigned char>(v));
        return one;
      }
      default:
        break;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      unsupported(full_, std::string("the escape '\\") + static_cast<char>(c) + "'" +
                             (in_class ? " in a class" : ""));
    Cls one{};
    set_bit(one, c);
    return one;
  }

  Cls bracket() {
    bool neg = false;
    if (i_ < p_.size() && p_[i_] == '^') {
      neg = true;
      ++i_;
    }
    Cls cls{};
    bool first = true;
    while (true) {
      if (i_ >= p_.size()) malformed(full_, "an unclosed '['");
      if (p_[i_] == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      const auto lo_at = i_;
      Cls item;
      unsigned char lo = 0;
      bool single = true;
      if (p_[i_] == '\\') {
        ++i_;
        const size_t before = i_;
        item = escape(true);
        // A single-character escape may start a range; \d and friends may not.
        single = i_ == before + 1 && !std::isalpha(static_cast<unsigned char>(p_[before]));
        lo = static_cast<unsigned char>(p_[before]);
      } else {
        lo = static_cast<unsigned char>(p_[i_++]);
        if (lo >= 0x80) unsupported(full_, "non-ASCII characters");
        item = Cls{};
        set_bit(item, lo);
      }
      if (single && i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
        ++i_;
        unsigned char hi = static_cast<unsigned char>(p_[i_++]);
        if (hi == '\\') {
          if (i_ >= p_.size()) malformed(full_, "a trailing backslash");
          hi = static_cast<unsigned char>(p_[i_++]);
        }
        if (hi >= 0x80) unsupported(full_, "non-ASCII characters");
        if (hi < lo) malformed(full_, "a reversed range at offset " + std::to_string(lo_at));
        item = range(lo, hi);
      }
      cls = unite(cls, item);
    }
    return neg ? negate(cls) : cls;
  }

  std::string_view full_, p_;
  size_t i_ = 0;
  int nesting_ = 0;
};

}  // namespace

int JsonRegex::add() {
  if (states_.size() >= kMaxStates)
    throw Error(ErrorKind::unsupported, "a pattern this large (over " +
                                            std::to_string(kMaxStates) +
                                            " automaton states) is not supported");
  states_.emplace_back();
  return static_cast<int>(states_.size() - 1);
}

JsonRegex::Frag JsonRegex::build_class(const Cls& cls) {
  const int s = add(), e = add();
  const Cls all = alphabet();
  states_[static_cast<size_t>(s)].cls = {cls[0] & all[0], cls[1] & all[1]};
  states_[static_cast<size_t>(s)].next = e;
  return {s, e};
}

JsonRegex::Frag JsonRegex::build(const Tree& t) {
  auto& st = states_;
  switch (t.type) {
    case Tree::Type::cls:
      return build_class(t.cls);
    case Tree::Type::cat: {
      if (t.kids.empty()) {
        const int s = add();
        return {s, s};
      }
      Frag f = build(t.kids[0]);
      for (size_t k = 1; k < t.kids.size(); ++k) {
        const Frag g = build(t.kids[k]);
        st[static_cast<size_t>(f.end)].eps1 = g.start;
        f.end = g.end;
      }
      return f;
    }
    case Tree::Type::alt: {
      // A chain of two-way splits into a shared end.
      const int e = add();
      int head = -1, prev = -1;
      for (size_t k = 0; k < t.kids.size(); ++k) {
        const Frag g = build(t.kids[k]);
        st[static_cast<size_t>(g.end)].eps1 = e;
        const int split = add();
        st[static_cast<size_t>(split)].eps1 = g.start;
        if (prev >= 0) st[static_cast<size_t>(prev)].eps2 = split;
        if (head < 0) head = split;
        prev = split;
      }
      return {head, e};
    }
    case Tree::Type::rep: {
      const int s = add();
      Frag f{s, s};
      auto append = [&](const Frag& g) {
        st[static_cast<size_t>(f.end)].eps1 = g.start;
        f.end = g.end;
      };
      for (int k = 0; k < t.min; ++k) append(build(t.kids[0]));
      if (t.max < 0) {
        // loop: entry splits into the body or the exit; the body's end returns to the entry.
        const int entry = add(), exit = add();
        const Frag body = build(t.kids[0]);
        st[static_cast<size_t>(entry)].eps1 = body.start;
        st[static_cast<size_t>(entry)].eps2 = exit;
        st[static_cast<size_t>(body.end)].eps1 = entry;
        append({entry, exit});
      } else {
        const int exit = add();
        for (int k = t.min; k < t.max; ++k) {
          const Frag body = build(t.kids[0]);
          st[static_cast<size_t>(f.end)].eps2 = exit;  // stop repeating here
          append(body);
        }
        st[static_cast<size_t>(f.end)].eps1 = exit;
        f.end = exit;
      }
      return f;
    }
  }
  return {0, 0};
}

JsonRegex::JsonRegex(std::string_view pattern) {
  if (pattern.size() > kMaxPattern)
    throw Error(ErrorKind::unsupported, "patterns over " + std::to_string(kMaxPattern) +
                                            " characters are not supported");
  std::string_view p = pattern;
  bool anchored_start = false, anchored_end = false;
  if (!p.empty() && p.front() == '^') {
    anchored_start = true;
    p.remove_prefix(1);
  }
  if (!p.empty() && p.back() == '$') {
    size_t slashes = 0;
    for (size_t k = p.size() - 1; k > 0 && p[k - 1] == '\\'; --k) ++slashes;
    if (slashes % 2 == 0) {
      anchored_end = true;
      p.remove_suffix(1);
    }
  }
  const Tree tree = Parser(pattern, p).parse();
  Tree any;
  any.type = Tree::Type::rep;
  any.min = 0;
  any.max = -1;
  any.kids.push_back(Tree{Tree::Type::cls, alphabet(), {}, 0, 0});
  Tree whole;
  whole.type = Tree::Type::cat;
  if (!anchored_start) whole.kids.push_back(any);
  whole.kids.push_back(tree);
  if (!anchored_end) whole.kids.push_back(any);
  const Frag f = build(whole);
  start_ = f.start;
  accept_ = f.end;
}

void JsonRegex::close(std::string& set, int s) const {
  std::vector<int> todo{s};
  while (!todo.empty()) {
    const int k = todo.back();
    todo.pop_back();
    if (k < 0) continue;
    auto& byte = set[static_cast<size_t>(k) / 8];
    const char bit = static_cast<char>(1 << (k % 8));
    if (byte & bit) continue;
    byte = static_cast<char>(byte | bit);
    todo.push_back(states_[static_cast<size_t>(k)].eps1);
    todo.push_back(states_[static_cast<size_t>(k)].eps2);
  }
}

std::string JsonRegex::start() const {
  std::string set((states_.size() + 7) / 8, '\0');
  close(set, start_);
  return set;
}

std::string JsonRegex::step(const std::string& set, unsigned char c) const {
  std::string next(set.size(), '\0');
  bool any = false;
  for (size_t k = 0; k < states_.size(); ++k) {
    if (!((set[k / 8] >> (k % 8)) & 1)) continue;
    const State& s = states_[k];
    if (s.next >= 0 && has_bit(s.cls, c)) {
      close(next, s.next);
      any = true;
    }
  }
  return any ? next : std::string();
}

bool JsonRegex::accepts(const std::string& set) const {
  const auto k = static_cast<size_t>(accept_);
  return !set.empty() && ((set[k / 8] >> (k % 8)) & 1);
}

std::optional<std::string> JsonRegex::shortest(const std::string& set, int length, int min_len,
                                               int max_len) const {
  static const std::string order = [] {
    std::string o = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int b = 0x20; b < 0x7f; ++b)
      if (in_alphabet(static_cast<unsigned char>(b)) && o.find(static_cast<char>(b)) == std::string::npos)
        o.push_back(static_cast<char>(b));
    return o;
  }();
  struct Node {
    std::string set;
    int length;
    std::string text;
  };
  auto key = [&](const std::string& s, int len) {
    return s + '|' + std::to_string(std::min(len, min_len));
  };
  std::deque<Node> queue{{set, length, {}}};
  std::unordered_set<std::string> seen{key(set, length)};
  size_t work = 0;
  while (!queue.empty()) {
    Node n = std::move(queue.front());
    queue.pop_front();
    if (accepts(n.set) && n.length >= min_len) return n.text;
    if (n.length >= max_len || seen.size() > kMaxSearch) continue;
    if ((work += order.size() * states_.size()) > kMaxWork) return std::nullopt;
    for (char ch : order) {
      std::string next = step(n.set, static_cast<unsigned char>(ch));
      if (next.empty()) continue;
      if (!seen.insert(key(next, n.length + 1)).second) continue;
      queue.push_back({std::move(next), n.length + 1, n.text + ch});
    }
  }
  return std::nullopt;
}

}  // namespace hearth::generate
