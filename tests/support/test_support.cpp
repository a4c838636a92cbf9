#include "support/test_support.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace hearth::test {

std::optional<std::filesystem::path> conformance_dir() {
  if (const char* env = std::getenv("HEARTH_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    std::filesystem::path p(env);
    if (std::filesystem::is_directory(p)) return p;
    return std::nullopt;
  }
  auto p = std::filesystem::path(HEARTH_SOURCE_DIR) / ".." / "shared" / "conformance";
  if (std::filesystem::is_directory(p)) return std::filesystem::weakly_canonical(p);
  return std::nullopt;
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto p = std::filesystem::temp_directory_path() / ("hearth-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path hearth_binary() {
  const char* env = std::getenv("HEARTH_BIN");
  if (env == nullptr || *env == '\0')
    throw std::runtime_error("HEARTH_BIN is not set (the CLI tests set it from their build)");
  return env;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hearth::test
