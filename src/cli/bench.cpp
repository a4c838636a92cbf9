// PLACEHOLDER while hearth bench is written; replaced by the real command.
#include "cli/commands.h"
namespace hearth::cli {
void register_bench(CLI::App& app) { (void)app; }
}  // namespace hearth::cli
