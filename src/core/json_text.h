// JSON text for files and the command line: hearth's one JSON library is Boost.JSON, and these
// two functions give it the written form that hearth's --json output, training files and stored
// settings have always had.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace hearth {

// The value as text. indent < 0: one line, no spaces ({"a":1,"b":[true,null]}); indent >= 0: one
// member or element per line, nested `indent` spaces deeper, "key": value (as for `hearth hw
// --json`). The form is fixed so that scripts, diffs and content hashes can rely on it:
//  - an object's keys in byte order, whatever order the value holds them in;
//  - integers as integers; other numbers in the shortest form that reads back as the same double,
//    with ".0" on whole numbers (2.0, 0.7, 1e-05, 1e+16), and null for NaN and infinities;
//  - strings escape only '"', '\\' and control characters (\n, \t, ..., \u001f); other text is
//    written as it is, with U+FFFD in place of each invalid UTF-8 sequence.
std::string format_json(const boost::json::value& value, int indent = -1);

// The JSON text as a value; nullopt when it is not JSON, with `error` (when given) set to what is
// wrong and where ("syntax error at line 3, column 14"). A leading UTF-8 byte-order mark is skipped
// and nesting may go 1000 levels deep (Boost.JSON's own limit is 32).
std::optional<boost::json::value> parse_json(std::string_view text, std::string* error = nullptr);

}  // namespace hearth
