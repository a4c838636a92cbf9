#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/config.h"
#include "core/error.h"

namespace hearth::log {

void init_from_config() {
  static bool installed = false;
  if (!installed) {
    auto logger = spdlog::stderr_color_mt("hearth");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    installed = true;
  }
  std::string level = config::get("HEARTH_LOG");
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off")
    throw Error(ErrorKind::invalid_input,
                "HEARTH_LOG=" + level + " is not a log level (trace, debug, info, warn, error, off)");
  spdlog::set_level(parsed);
}

}  // namespace hearth::log
