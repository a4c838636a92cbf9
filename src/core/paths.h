// Where hearth keeps its files (DESIGN.md §3). Every path derives from home():
//   HEARTH_HOME, else $XDG_DATA_HOME/hearth, else $HOME/.local/share/hearth.
//   blobs/sha256-<hex>   manifests/<name>/<tag>   hearth.db   datasets/   jobs/
//   uploads/<user id>/   files sent to POST /v1/files
// Functions only compute paths; ensure_directory() creates one when a writer needs it.
#pragma once

#include <filesystem>

namespace hearth::paths {

std::filesystem::path home();  // Error(invalid_input) when no variable gives a location
std::filesystem::path blobs();
std::filesystem::path manifests();
std::filesystem::path database();
std::filesystem::path datasets();
std::filesystem::path jobs();
std::filesystem::path uploads();

// Creates the folder and its parents (mode 0700 for the ones it creates); Error(io) on failure.
void ensure_directory(const std::filesystem::path& dir);

}  // namespace hearth::paths
