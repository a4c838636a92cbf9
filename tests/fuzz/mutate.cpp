// Mutations shared by the fuzz targets (fuzz.h): byte-level and JSON-aware.
#include <boost/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/fuzz.h"

namespace hearth::fuzz {

namespace json = boost::json;

namespace {

// Text that has broken parsers before: invalid UTF-8 (lone continuation, overlong, surrogate,
// truncated sequence), NUL and control bytes, escapes, special-token and chat-format markers.
const std::vector<std::string> kHostileFragments = {
    "\x80",        "\xC0\xAF",  "\xED\xA0\x80", "\xF0\x9F\x98", "\xFF\xFE", std::string("\0", 1),
    "\x1b[2J",     "\r\n",      "\\u0000",      "\\ud800",      "%00",      "%",
    "../../",      "</s>",      "<|eot_id|>",   "<|im_end|>",   "[INST]",   "<|start_header_id|>",
    "<｜Assistant｜>", "{{",   "{%",           "%}",           "}}",       "\"",
    "'",           "\\",        "\xE2\x80\xAE", "😀",           "é",        "{{ 1/0 }}"};

std::string long_run(Rng& rng) {
  static const std::vector<std::size_t> kSizes = {64, 1000, 4096, 65536, 1 << 20};
  const std::size_t n = rng.pick(kSizes);
  std::string s(n, "aA0 {[\"\\\x80"[rng.below(9)]);
  return s;
}

std::string deep_nesting(Rng& rng) {
  static const std::vector<std::size_t> kDepth = {33, 64, 500, 5000, 100000};
  const std::size_t n = rng.pick(kDepth);
  const bool arrays = rng.one_in(2);
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += arrays ? "[" : "{\"a\":";
  s += "1";
  for (std::size_t i = 0; i < n; ++i) s += arrays ? "]" : "}";
  return s;
}

// Textual numbers JSON parsers must refuse or clamp.
const std::vector<std::string> kHostileNumbers = {
    "1e999", "-1e999", "NaN", "Infinity", "-Infinity", "-0", "1e-400", "00", "0x10", "+1", "1.",
    ".5", "184467440737095516160", "-9223372036854775809", "99999999999999999999999999999"};

}  // namespace

std::string hostile_text(Rng& rng) {
  switch (rng.below(5)) {
    case 0: return long_run(rng);
    case 1: return rng.pick(kHostileFragments);
    case 2: {
      std::string s;
      const int n = 1 + static_cast<int>(rng.below(8));
      for (int i = 0; i < n; ++i) s += rng.pick(kHostileFragments);
      return s;
    }
    case 3: return std::string(1 + rng.below(3), static_cast<char>(rng.below(256)));
    default: return "";
  }
}

json::value hostile_value(Rng& rng) {
  switch (rng.below(16)) {
    case 0: return nullptr;
    case 1: return rng.one_in(2);
    case 2: return static_cast<std::int64_t>(-1);
    case 3: return static_cast<std::int64_t>(0);
    case 4: return std::numeric_limits<std::int64_t>::max();
    case 5: return std::numeric_limits<std::int64_t>::min();
    case 6: return std::numeric_limits<std::uint64_t>::max();
    case 7: return 1e308;
    case 8: return -1e308;
    case 9: return 0.5;
    case 10: return static_cast<std::int64_t>(rng.below(5000)) - 100;
    case 11: return json::array{};
    case 12: return json::object{};
    case 13: return json::array{hostile_text(rng), static_cast<std::int64_t>(1), nullptr};
    case 14: return json::object{{hostile_text(rng), hostile_text(rng)}};
    default: return json::string(hostile_text(rng));
  }
}

std::string mutate_bytes(std::string s, Rng& rng, std::string_view donor) {
  const int rounds = 1 + static_cast<int>(rng.below(4));
  for (int r = 0; r < rounds; ++r) {
    const std::size_t at = rng.below(s.size() + 1);
    switch (rng.below(8)) {
      case 0:
        if (!s.empty()) s[rng.below(s.size())] ^= static_cast<char>(1u << rng.below(8));
        break;
      case 1:
        if (!s.empty()) s[rng.below(s.size())] = static_cast<char>(rng.below(256));
        break;
      case 2: s.resize(at); break;
      case 3: s.erase(at, 1 + rng.below(16)); break;
      case 4: s.insert(at, hostile_text(rng)); break;
      case 5:
        if (!donor.empty()) {
          const std::size_t from = rng.below(donor.size());
          s.insert(at, donor.substr(from, 1 + rng.below(64)));
        }
        break;
      case 6: {  // a run repeated: long keys, long values, many separators
        const std::size_t from = rng.below(s.size() + 1);
        const std::string run = s.substr(from, 1 + rng.below(8));
        std::string many;
        for (std::size_t i = 0, n = 1 + rng.below(2000); i < n; ++i) many += run;
        s.insert(at, many);
        break;
      }
      default:
        s.insert(at, rng.one_in(2) ? rng.pick(kHostileNumbers) : deep_nesting(rng));
        break;
    }
  }
  return s;
}

namespace {

struct Slot {
  json::value* value;
  json::object* parent_object;  // set when the value is an object member
  std::string key;
  json::array* parent_array;    // set when the value is an array element
};

void collect(json::value& v, std::vector<Slot>& out, json::object* po, std::string key,
             json::array* pa, int depth) {
  out.push_back({&v, po, std::move(key), pa});
  if (depth > 40) return;
  if (v.is_object()) {
    for (auto& kv : v.as_object())
      collect(kv.value(), out, &v.as_object(), std::string(kv.key()), nullptr, depth + 1);
  } else if (v.is_array()) {
    for (auto& e : v.as_array()) collect(e, out, nullptr, "", &v.as_array(), depth + 1);
  }
}

}  // namespace

std::string mutate_json(const std::string& text, Rng& rng, std::string* changed_key) {
  if (changed_key) changed_key->clear();
  json::value root;
  try {
    root = json::parse(text);
  } catch (const std::exception&) {
    return mutate_bytes(text, rng);
  }
  const int rounds = rng.one_in(4) ? 2 + static_cast<int>(rng.below(3)) : 1;
  for (int r = 0; r < rounds; ++r) {
    std::vector<Slot> slots;
    collect(root, slots, nullptr, "", nullptr, 0);
    const Slot& s = rng.pick(slots);
    // Only a single change of one member's value is attributed to that member.
    if (changed_key && r == 0 && rounds == 1) *changed_key = s.key;
    switch (rng.below(8)) {
      case 0:  // the member goes
        if (s.parent_object) {
          s.parent_object->erase(s.key);
          break;
        }
        [[fallthrough]];
      case 1:
      case 2:
      case 3:  // another type or a hostile value
        *s.value = hostile_value(rng);
        break;
      case 4:  // an extra member
        if (s.value->is_object()) {
          s.value->as_object()[rng.one_in(2) ? hostile_text(rng) : std::string("extra")] =
              hostile_value(rng);
          break;
        }
        *s.value = hostile_value(rng);
        break;
      case 5:  // an array grown: many copies of one element, or elements of other types
        if (s.value->is_array() && !s.value->as_array().empty()) {
          json::array& a = s.value->as_array();
          const json::value e = a[rng.below(a.size())];
          // At most about 1 MiB more: many copies of a small element, few of a large one.
          std::size_t added = 0;
          for (std::size_t i = 0, n = 1 + rng.below(rng.one_in(4) ? 5000 : 20);
               i < n && added < (1u << 20); ++i) {
            json::value next = rng.one_in(3) ? hostile_value(rng) : e;
            added += json::serialize(next).size() + 1;
            a.push_back(std::move(next));
          }
          break;
        }
        *s.value = json::array{*s.value, hostile_value(rng)};
        break;
      case 6:  // text edited at byte level
        if (s.value->is_string()) {
          *s.value = json::string(mutate_bytes(std::string(s.value->as_string()), rng));
          break;
        }
        *s.value = json::string(hostile_text(rng));
        break;
      default:  // a number nudged to an edge
        if (s.value->is_number()) {
          const std::vector<json::value> edges = {
              static_cast<std::int64_t>(-1), static_cast<std::int64_t>(0),
              static_cast<std::int64_t>(2147483647), static_cast<std::int64_t>(2147483648LL),
              static_cast<std::int64_t>(4294967296LL), 1e20, -1e20, 1e-9, 0.999999,
              std::numeric_limits<std::uint64_t>::max()};
          *s.value = rng.pick(edges);
          break;
        }
        *s.value = hostile_value(rng);
        break;
    }
  }
  std::string out = json::serialize(root);
  // Invalid UTF-8 in a value makes the whole text unreadable: then no member is to blame.
  if (changed_key && !changed_key->empty()) {
    json::error_code ec;
    json::parse(out, ec);
    if (ec) changed_key->clear();
  }
  // Now and then the text itself: numbers no serializer writes, nesting past any limit.
  if (rng.one_in(8)) {
    out = mutate_bytes(std::move(out), rng);
    if (changed_key) changed_key->clear();  // what the reader sees is no longer that change
  }
  return out;
}

bool error_message_of(const std::string& body, std::string* message) {
  try {
    const json::value v = json::parse(body);
    const json::value* e = v.is_object() ? v.as_object().if_contains("error") : nullptr;
    if (e == nullptr) return false;
    if (e->is_string()) {
      *message = std::string(e->as_string());
      return !message->empty();
    }
    const json::value* m = e->is_object() ? e->as_object().if_contains("message") : nullptr;
    if (m == nullptr || !m->is_string()) return false;
    *message = std::string(m->as_string());
    return !message->empty();
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::string> regression_seeds(const std::string& target) {
  std::vector<std::string> out;
  const std::filesystem::path dir = std::filesystem::path(HEARTH_FUZZ_SEEDS_DIR) / target;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    out.push_back(text.str());
  }
  return out;
}

}  // namespace hearth::fuzz
