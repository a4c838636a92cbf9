// `hearth help config`: every setting from the configuration table with its current value.
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "core/config.h"

namespace hearth::cli {

void register_help_config(CLI::App& app) {
  auto* help = app.add_subcommand("help", "more help on a topic");
  help->require_subcommand(1);
  auto* config_cmd = help->add_subcommand("config", "list every setting, its default and value");
  config_cmd->callback([] {
    std::printf("hearth reads these settings from the environment (flags override them):\n\n");
    for (const auto& s : config::settings()) {
      std::string flag = s.flag.empty() ? "" : " (" + std::string(s.flag) + ")";
      std::string def = s.default_value.empty() ? "(computed)" : std::string(s.default_value);
      std::printf("  %.*s%s\n      %.*s\n      default: %s   now: %s\n", int(s.env.size()),
                  s.env.data(), flag.c_str(), int(s.description.size()), s.description.data(),
                  def.c_str(), config::get(s.env).c_str());
    }
  });
}

}  // namespace hearth::cli
