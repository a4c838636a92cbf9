// PLACEHOLDER while hearth tokenize / detokenize is written; replaced by the real command.
#include "cli/commands.h"
namespace hearth::cli {
void register_tokenize(CLI::App& app) { (void)app; }
}  // namespace hearth::cli
