// PLACEHOLDER while hearth help config is written; replaced by the real command.
#include "cli/commands.h"
namespace hearth::cli {
void register_help_config(CLI::App& app) { (void)app; }
}  // namespace hearth::cli
