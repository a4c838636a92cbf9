// See fields.h.
#include "api/fields.h"

#include <charconv>
#include <cmath>

#include "core/error.h"

namespace hearth::api {
namespace {

const json::value* present(const json::object& o, std::string_view field) {
  const auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

}  // namespace

void bad_field(std::string_view field, std::string_view must_be) {
  throw Error(ErrorKind::invalid_input,
              "field '" + std::string(field) + "' must be " + std::string(must_be));
}

std::string number_text(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  return std::string(buf, end);
}

std::optional<std::string> opt_string(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) bad_field(field, "a string");
  return std::string(v->as_string());
}

std::optional<double> opt_number(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->as_double();
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  bad_field(field, "a number");
}

std::optional<std::int64_t> opt_int(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) {
    const double d = v->as_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d > -9.2e18 && d < 9.2e18)
      return static_cast<std::int64_t>(d);
  }
  bad_field(field, "an integer");
}

std::optional<bool> opt_bool(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) bad_field(field, "true or false");
  return v->as_bool();
}

const json::object* opt_object(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) bad_field(field, "an object");
  return &v->as_object();
}

const json::array* opt_array(const json::object& o, std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) bad_field(field, "an array");
  return &v->as_array();
}

std::string req_string(const json::object& o, std::string_view field) {
  auto s = opt_string(o, field);
  if (!s || s->empty())
    throw Error(ErrorKind::invalid_input, "field '" + std::string(field) + "' is required");
  return *s;
}

std::optional<std::vector<std::string>> opt_string_list(const json::object& o,
                                                        std::string_view field) {
  const json::value* v = present(o, field);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::vector<std::string>{std::string(v->as_string())};
  if (!v->is_array()) bad_field(field, "a string or an array of strings");
  std::vector<std::string> out;
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) bad_field(field, "a string or an array of strings");
    out.emplace_back(item.as_string());
  }
  return out;
}

std::optional<double> opt_number_in(const json::object& o, std::string_view field, double lo,
                                    double hi) {
  const auto v = opt_number(o, field);
  if (v && (!std::isfinite(*v) || *v < lo || *v > hi))
    bad_field(field, "between " + number_text(lo) + " and " + number_text(hi));
  return v;
}

}  // namespace hearth::api
