// PLACEHOLDER while hearth inspect FILE.gguf is written; replaced by the real command.
#include "cli/commands.h"
namespace hearth::cli {
void register_inspect(CLI::App& app) { (void)app; }
}  // namespace hearth::cli
