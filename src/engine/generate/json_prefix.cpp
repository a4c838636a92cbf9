#include "engine/generate/json_prefix.h"

namespace hearth::generate {

namespace {
bool is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
}  // namespace

bool JsonPrefix::end_value() {
  state_ = stack_.empty() ? State::done : State::after_value;
  return true;
}

bool JsonPrefix::start_value(unsigned char c) {
  switch (c) {
    case '{':
      stack_.push_back('{');
      state_ = State::object_first;
      return true;
    case '[':
      stack_.push_back('[');
      state_ = State::array_first;
      return true;
    case '"':
      key_ = false;
      state_ = State::string;
      return true;
    case '-':
      num_ = Num::minus;
      state_ = State::number;
      return true;
    case 't':
      literal_ = "rue";
      state_ = State::literal;
      return true;
    case 'f':
      literal_ = "alse";
      state_ = State::literal;
      return true;
    case 'n':
      literal_ = "ull";
      state_ = State::literal;
      return true;
    default:
      if (!is_digit(c)) return false;
      num_ = c == '0' ? Num::zero : Num::digits;
      digits_ = 1;
      state_ = State::number;
      return true;
  }
}

bool JsonPrefix::feed(unsigned char c) {
  const bool between_tokens = state_ != State::string && state_ != State::escape &&
                              state_ != State::unicode && state_ != State::literal &&
                              state_ != State::number && state_ != State::done;
  if (between_tokens && is_ws(c)) {
    if (++space_run_ > (state_ == State::start ? kMaxLeadingSpace : kMaxSpaceRun)) return false;
  } else {
    space_run_ = 0;
  }
  switch (state_) {
    case State::done:
      return false;
    case State::start:
      if (is_ws(c)) return true;
      if (c != '{') return false;
      stack_.push_back('{');
      state_ = State::object_first;
      return true;
    case State::value:
      return is_ws(c) || start_value(c);
    case State::array_first:
      if (is_ws(c)) return true;
      if (c == ']') {
        stack_.pop_back();
        return end_value();
      }
      return start_value(c);
    case State::object_first:
    case State::key:
      if (is_ws(c)) return true;
      if (c == '}' && state_ == State::object_first) {
        stack_.pop_back();
        return end_value();
      }
      if (c != '"') return false;
      key_ = true;
      state_ = State::string;
      return true;
    case State::colon:
      if (is_ws(c)) return true;
      if (c != ':') return false;
      state_ = State::value;
      return true;
    case State::after_value:
      if (is_ws(c)) return true;
      if (c == ',') {
        state_ = stack_.back() == '{' ? State::key : State::value;
        return true;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) {
        stack_.pop_back();
        return end_value();
      }
      return false;
    case State::string:
      if (c == '"') {
        if (key_) {
          state_ = State::colon;
          return true;
        }
        return end_value();
      }
      if (c == '\\') {
        state_ = State::escape;
        return true;
      }
      return c >= 0x20;  // control characters must be escaped
    case State::escape:
      if (c == 'u') {
        hex_left_ = 4;
        state_ = State::unicode;
        return true;
      }
      if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
          c == 't') {
        state_ = State::string;
        return true;
      }
      return false;
    case State::unicode:
      if (!is_hex(c)) return false;
      if (--hex_left_ == 0) state_ = State::string;
      return true;
    case State::literal:
      if (literal_.empty() || c != static_cast<unsigned char>(literal_.front())) return false;
      literal_.remove_prefix(1);
      if (literal_.empty()) return end_value();
      return true;
    case State::number:
      switch (num_) {
        case Num::minus:
          if (!is_digit(c)) return false;
          num_ = c == '0' ? Num::zero : Num::digits;
          digits_ = 1;
          return true;
        case Num::zero:
        case Num::digits:
          if (is_digit(c) && num_ == Num::digits) return ++digits_ <= kMaxIntDigits;
          if (c == '.') {
            num_ = Num::dot;
            return true;
          }
          if (c == 'e' || c == 'E') {
            num_ = Num::exp;
            return true;
          }
          break;
        case Num::dot:
          if (!is_digit(c)) return false;
          num_ = Num::frac;
          return true;
        case Num::frac:
          if (is_digit(c)) return true;
          if (c == 'e' || c == 'E') {
            num_ = Num::exp;
            return true;
          }
          break;
        case Num::exp:
          if (c == '+' || c == '-') {
            num_ = Num::exp_sign;
            return true;
          }
          [[fallthrough]];
        case Num::exp_sign:
          if (!is_digit(c)) return false;
          num_ = Num::exp_digits;
          digits_ = 1;
          return true;
        case Num::exp_digits:
          if (is_digit(c)) return ++digits_ <= kMaxExpDigits;
          break;
      }
      // The number ends here; the byte belongs to what follows it (numbers never sit at the
      // top level, so a container is open).
      if (!number_can_end()) return false;
      state_ = State::after_value;
      return feed(c);
  }
  return false;
}

bool JsonPrefix::feed(std::string_view text) {
  for (char ch : text)
    if (!feed(static_cast<unsigned char>(ch))) return false;
  return true;
}

}  // namespace hearth::generate
