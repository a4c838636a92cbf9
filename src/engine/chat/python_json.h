// JSON text the way chat templates print it: Python's json.dumps, which the templates' `tojson`
// filter calls. Keys keep their order, non-ASCII text stays as it is (ensure_ascii off), and the
// separators are ", " and ": " on one line, or "," at line ends and ": " with an indent. Models
// trained on tool lists saw exactly this text, so tools are rendered with it.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace hearth::chat {

// indent < 0: one line.
std::string python_json(const boost::json::value& value, int indent = -1);

// Parses JSON text; Error(invalid_input) naming `what` when it is not valid JSON.
boost::json::value parse_json(std::string_view text, std::string_view what);

}  // namespace hearth::chat
