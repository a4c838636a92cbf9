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

#include "api/fields.h"
#include "server/server.h"

namespace hearth::server {

namespace json = boost::json;

// JSON text for an answer, with numbers as people write them: Boost.JSON's own serializer prints
// every double in exponent form (100.0 as 1E2, 0.7 as 7E-1); this one prints the shortest text
// that reads back as the same double (100, 0.7, 1e-07, 1e+21), and null for NaN and infinities.
// Every JSON the server writes goes through here (json_response, streamed lines and events).
std::string json_text(const json::value& value);
using api::number_text;  // a number for a message ("between 0 and 2", "at least 0.7")

// Error text as a client may see it: every path under HEARTH_HOME becomes what it is ("the
// model's weights", "a dataset file", "a file of the model library"), so that no answer says
// where the server keeps its files. Everything else is kept.
std::string public_message(std::string_view message);

// The answer for work that failed off the I/O thread: a request's own fault (4xx) with its
// message as a client may see it; anything else logged with `doing` and answered 500 without
// details ("the job could not be started (the server's log says why)").
Response failure_response(std::string_view path, const std::exception& e, std::string_view doing);

Response json_response(const json::value& value, int status = 200);

// The body as one JSON object. Error(invalid_input): "invalid JSON in request body: ..." or
// "request body must be a JSON object". An empty body gives an empty object.
json::object parse_body_object(std::string_view body);

// Reading request fields (api/fields.h): every route names a bad field the same way.
using api::opt_array;
using api::opt_bool;
using api::opt_int;
using api::opt_number;
using api::opt_object;
using api::opt_string;
using api::opt_string_list;
using api::req_string;

// Floats as a JSON array of numbers (embeddings).
json::array float_array(std::span<const float> values);

// Seconds since the epoch as Ollama's RFC 3339 text with nanoseconds: "2024-06-01T12:00:00.123456789Z".
std::string rfc3339(std::chrono::system_clock::time_point t);

}  // namespace hearth::server
