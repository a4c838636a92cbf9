// Reading the fields of a request's JSON object, with errors that name the field: every
// OpenAI and Ollama request type (openai.h, ollama.h) and the stored model options (options.h)
// read their members through these, so the same mistake gets the same message everywhere.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::api {

namespace json = boost::json;

// Optional fields: nullopt (nullptr) when absent or null; Error(invalid_input) "field 'x' must
// be a string" (a number, an integer, true or false, an object, an array) when present with
// another type. An integer may be written as a whole number (3.0).
std::optional<std::string> opt_string(const json::object& o, std::string_view field);
std::optional<double> opt_number(const json::object& o, std::string_view field);
std::optional<std::int64_t> opt_int(const json::object& o, std::string_view field);
std::optional<bool> opt_bool(const json::object& o, std::string_view field);
const json::object* opt_object(const json::object& o, std::string_view field);
const json::array* opt_array(const json::object& o, std::string_view field);
// Required: Error(invalid_input) "field 'x' is required" when absent, null or (for strings) empty.
std::string req_string(const json::object& o, std::string_view field);
// A string or an array of strings ("stop", "input"); nullopt when absent or null.
std::optional<std::vector<std::string>> opt_string_list(const json::object& o, std::string_view field);

// A number in range [lo, hi], else Error(invalid_input) "field 'x' must be between lo and hi".
std::optional<double> opt_number_in(const json::object& o, std::string_view field, double lo,
                                    double hi);

// A number as messages write it: the shortest text that reads back as the same double ("2",
// "0.7", "1e-06").
std::string number_text(double value);

// Error(invalid_input) "field 'x' must be y"; the one shape of every field error.
[[noreturn]] void bad_field(std::string_view field, std::string_view must_be);

}  // namespace hearth::api
