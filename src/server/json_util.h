// Reading request bodies and writing JSON answers, with errors that name the field.
#pragma once

#include <boost/json.hpp>

#include <chrono>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "server/server.h"

namespace hearth::server {

namespace json = boost::json;

// JSON text for an answer, with numbers as people write them: Boost.JSON's own serializer prints
// every double in exponent form (100.0 as 1E2, 0.7 as 7E-1); this one prints the shortest text
// that reads back as the same double (100, 0.7, 1e-07, 1e+21), and null for NaN and infinities.
// Every JSON the server writes goes through here (json_response, streamed lines and events).
std::string json_text(const json::value& value);
// A number for a message: json_text's form ("between 0 and 2", "at least 0.7").
std::string number_text(double value);

// Error text as a client may see it: every path under HEARTH_HOME becomes what it is ("the
// model's weights", "a dataset file", "a file of the model library"), so that no answer says
// where the server keeps its files. Everything else is kept.
std::string public_message(std::string_view message);

Response json_response(const json::value& value, int status = 200);

// The body as one JSON object. Error(invalid_input): "invalid JSON in request body: ..." or
// "request body must be a JSON object". An empty body gives an empty object.
json::object parse_body_object(std::string_view body);

// Optional fields: nullopt when absent or null; Error(invalid_input) "field 'x' must be a
// string" (number, integer, boolean, object, array) when present with another type.
std::optional<std::string> opt_string(const json::object& o, std::string_view field);
std::optional<double> opt_number(const json::object& o, std::string_view field);
std::optional<std::int64_t> opt_int(const json::object& o, std::string_view field);
std::optional<bool> opt_bool(const json::object& o, std::string_view field);
const json::object* opt_object(const json::object& o, std::string_view field);
const json::array* opt_array(const json::object& o, std::string_view field);
// Required: Error(invalid_input) "field 'x' is required" when absent, null or (for strings) empty.
std::string req_string(const json::object& o, std::string_view field);
// A string or an array of strings ("stop"); nullopt when absent or null.
std::optional<std::vector<std::string>> opt_string_list(const json::object& o, std::string_view field);

// Floats as a JSON array of numbers (embeddings).
json::array float_array(std::span<const float> values);

// Seconds since the epoch as Ollama's RFC 3339 text with nanoseconds: "2024-06-01T12:00:00.123456789Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace hearth::server
