// Reading a request body in the wire-type tests: the JSON text as the object a route would get.
#pragma once

#include <boost/json.hpp>

#include <string_view>

#include "support/json_test_util.h"

namespace hearth::test {

inline boost::json::object body(std::string_view text) { return json_from(text).as_object(); }

}  // namespace hearth::test
