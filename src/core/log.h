// Logging through spdlog to stderr. The level comes from HEARTH_LOG (trace, debug, info, warn,
// error, off; default info). Use the spdlog macros or the functions below.
#pragma once

#include <spdlog/spdlog.h>

namespace hearth::log {

// Sets the level from the configuration table (HEARTH_LOG). Safe to call more than once.
void init_from_config();

}  // namespace hearth::log
