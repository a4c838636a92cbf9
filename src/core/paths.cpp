#include "core/paths.h"

#include <sys/stat.h>

#include <cstdlib>
#include <system_error>

#include "core/config.h"
#include "core/error.h"

namespace hearth::paths {

std::filesystem::path home() {
  if (std::string h = config::get("HEARTH_HOME"); !h.empty()) return h;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg == '/')
    return std::filesystem::path(xdg) / "hearth";
  if (const char* user_home = std::getenv("HOME"); user_home != nullptr && *user_home != '\0')
    return std::filesystem::path(user_home) / ".local" / "share" / "hearth";
  throw Error(ErrorKind::invalid_input,
              "cannot tell where to keep hearth's files: set HEARTH_HOME (or HOME)");
}

std::filesystem::path blobs() { return home() / "blobs"; }
std::filesystem::path manifests() { return home() / "manifests"; }
std::filesystem::path database() { return home() / "hearth.db"; }
std::filesystem::path datasets() { return home() / "datasets"; }
std::filesystem::path jobs() { return home() / "jobs"; }
std::filesystem::path uploads() { return home() / "uploads"; }

void ensure_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return;
  if (dir.has_parent_path() && dir.parent_path() != dir) ensure_directory(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && !std::filesystem::is_directory(dir, ec))
    throw Error(ErrorKind::io, dir.string() + ": cannot create folder: " +
                                   std::error_code(errno, std::generic_category()).message());
}

}  // namespace hearth::paths
