// Numbers under a JSON Schema: the syntax of a JSON number, with digit caps so every reader
// parses the result as a double, and minimum/maximum checked on every prefix: a prefix is taken
// only while some completion of it can still land in range (so a sampler never walks into a
// number that cannot end). Ranged numbers are written without an exponent, which keeps the set of
// values a prefix can reach a union of a few intervals.
#include <cmath>
#include <cstdlib>
#include <limits>

#include "engine/generate/json_schema_nodes.h"

namespace hearth::generate::number {

namespace {

constexpr int kMaxIntDigits = 20, kMaxExpDigits = 2, kMaxFracDigits = 30;
constexpr int kRangedIntDigits = 15, kRangedFracDigits = 12;
constexpr double kInf = std::numeric_limits<double>::infinity();

bool ranged(const SchemaNode& n) {
  return n.has_lo || n.has_hi;
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

struct Interval {
  double lo, hi;
  bool lo_closed, hi_closed;
};

bool meets(const Interval& a, const Interval& b) {
  double lo = a.lo;
  bool lo_closed = a.lo_closed;
  if (b.lo > lo || (b.lo == lo && !b.lo_closed)) {
    lo_closed = b.lo == lo ? (lo_closed && b.lo_closed) : b.lo_closed;
    lo = b.lo;
  }
  double hi = a.hi;
  bool hi_closed = a.hi_closed;
  if (b.hi < hi || (b.hi == hi && !b.hi_closed)) {
    hi_closed = b.hi == hi ? (hi_closed && b.hi_closed) : b.hi_closed;
    hi = b.hi;
  }
  return lo < hi || (lo == hi && lo_closed && hi_closed);
}

Interval target(const SchemaNode& n) {
  return {n.has_lo ? n.lo : -kInf, n.has_hi ? n.hi : kInf, !n.lo_excl, !n.hi_excl};
}

// Magnitudes [lo, hi) (hi_closed for a value that is exact) with the sign applied.
bool reaches(const SchemaNode& n, bool negative, double lo, double hi, bool hi_closed) {
  if (n.integer) {
    // Integers lo..hi inclusive against the integer range the bounds allow.
    double ilo = n.has_lo ? (n.lo_excl ? std::floor(n.lo) + 1 : std::ceil(n.lo)) : -kInf;
    double ihi = n.has_hi ? (n.hi_excl ? std::ceil(n.hi) - 1 : std::floor(n.hi)) : kInf;
    double a = lo, b = hi_closed ? hi : hi - 1;
    if (negative) {
      const double t = a;
      a = -b;
      b = -t;
    }
    return std::max(a, ilo) <= std::min(b, ihi);
  }
  Interval v{lo, hi, true, hi_closed};
  if (negative) v = {-hi, -lo, hi_closed, true};
  return meets(v, target(n));
}

bool viable(const SchemaNode& n, const JsonSchemaState::Frame& f) {
  const bool negative = !f.buf.empty() && f.buf[0] == '-';
  const double mag = std::fabs(std::strtod(f.buf.c_str(), nullptr));
  const int int_cap = kRangedIntDigits;
  switch (f.sub) {
    case minus:
      return reaches(n, true, 0, kInf, false);
    case zero:
      return n.integer ? reaches(n, negative, 0, 0, true) : reaches(n, negative, 0, 1, false);
    case digits:
      for (int k = 0; k + f.a <= int_cap; ++k) {
        const double scale = std::pow(10.0, k);
        if (reaches(n, negative, mag * scale, (mag + 1) * scale, false)) return true;
      }
      return false;
    case dot:
      return reaches(n, negative, mag, mag + 1, false);
    case frac:
      if (f.b >= kRangedFracDigits) return reaches(n, negative, mag, mag, true);
      return reaches(n, negative, mag, mag + std::pow(10.0, -f.b), false);
    default:
      return true;
  }
}

}  // namespace

bool extend(const SchemaNode& n, JsonSchemaState::Frame& f, unsigned char c) {
  const bool r = ranged(n);
  const bool exp_ok = !r && !n.integer;
  const int int_cap = r ? kRangedIntDigits : kMaxIntDigits;
  const int frac_cap = r ? kRangedFracDigits : kMaxFracDigits;
  JsonSchemaState::Frame g = f;
  switch (g.sub) {
    case empty:
    case minus:
      if (c == '-' && g.sub == empty) {
        g.sub = minus;
      } else if (is_digit(c)) {
        g.sub = c == '0' ? zero : digits;
        g.a = 1;
      } else {
        return false;
      }
      break;
    case zero:
    case digits:
      if (is_digit(c) && g.sub == digits) {
        if (++g.a > int_cap) return false;
      } else if (c == '.' && !n.integer) {
        g.sub = dot;
      } else if ((c == 'e' || c == 'E') && exp_ok) {
        g.sub = exp;
      } else {
        return false;
      }
      break;
    case dot:
      if (!is_digit(c)) return false;
      g.sub = frac;
      g.b = 1;
      break;
    case frac:
      if (is_digit(c)) {
        if (++g.b > frac_cap) return false;
      } else if ((c == 'e' || c == 'E') && exp_ok) {
        g.sub = exp;
      } else {
        return false;
      }
      break;
    case exp:
      if (c == '+' || c == '-') {
        g.sub = exp_sign;
        break;
      }
      [[fallthrough]];
    case exp_sign:
      if (!is_digit(c)) return false;
      g.sub = exp_digits;
      g.c = 1;
      break;
    case exp_digits:
      if (!is_digit(c) || ++g.c > kMaxExpDigits) return false;
      break;
    default:
      return false;
  }
  g.buf.push_back(static_cast<char>(c));
  if (r && !viable(n, g)) return false;
  f = std::move(g);
  return true;
}

bool can_end(const SchemaNode& n, const JsonSchemaState::Frame& f) {
  if (f.sub != zero && f.sub != digits && f.sub != frac && f.sub != exp_digits) return false;
  if (!ranged(n)) return true;
  const double v = std::strtod(f.buf.c_str(), nullptr);
  if (n.has_lo && (v < n.lo || (n.lo_excl && v == n.lo))) return false;
  if (n.has_hi && (v > n.hi || (n.hi_excl && v == n.hi))) return false;
  return true;
}

std::optional<std::string> finish(const SchemaNode& n, JsonSchemaState::Frame f) {
  std::string out;
  for (int step = 0; step < 64; ++step) {
    if (f.sub != empty && can_end(n, f)) return out;
    const char* order = f.sub == empty ? "0123456789-" : "0123456789.";
    bool moved = false;
    for (const char* c = order; *c && !moved; ++c) {
      if (extend(n, f, static_cast<unsigned char>(*c))) {
        out.push_back(*c);
        moved = true;
      }
    }
    if (!moved) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace hearth::generate::number
