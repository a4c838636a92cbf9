// The configuration table: every setting hearth reads, declared once with its environment
// variable, command-line flag, default and description (printed by `hearth help config`).
// A setting's value is its environment variable when set and non-empty, else its default.
// Flags given on the command line override through set_override().
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace hearth::config {

struct Setting {
  std::string_view env;          // "HEARTH_HOST"
  std::string_view flag;         // "--host", or empty when only the environment sets it
  std::string_view default_value;
  std::string_view description;
};

std::span<const Setting> settings();

// The current value of a declared setting. Asking for an undeclared name is a bug (asserts).
std::string get(std::string_view env);
// Integer value; Error(invalid_input) naming the variable when it is not a whole number in range.
long long get_int(std::string_view env, long long min, long long max);
// Replaces the value for this process (used for command-line flags and tests).
void set_override(std::string_view env, std::string value);

}  // namespace hearth::config
