// Helpers shared by hearth's tests.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hearth::test {

// The conformance data pack (a folder with its README.md): $HEARTH_CONFORMANCE_DIR, else
// ../shared/conformance beside the source tree. nullopt when neither is one (tests then
// GTEST_SKIP and say why).
std::optional<std::filesystem::path> conformance_dir();

// The project's source tree (the folder holding src/ and tests/).
std::filesystem::path source_dir();

// Runs fn expecting Error(kind) whose message contains every fragment (a gtest failure if not).
void expect_error(const std::function<void()>& fn, ErrorKind kind,
                  const std::vector<std::string>& fragments);

// Skips the current test with a clear reason when the conformance data is missing.
#define HEARTH_REQUIRE_CONFORMANCE(var)                                                       \
  auto var##_opt = ::hearth::test::conformance_dir();                                         \
  if (!var##_opt)                                                                             \
    GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR or place it at " \
                    "../shared/conformance";                                                  \
  const std::filesystem::path var = *var##_opt

// A fresh empty folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The hearth binary under test ($HEARTH_BIN, set by ctest).
std::filesystem::path hearth_binary();

// Every .gguf file under the conformance folder's models/ and tokenizer/, sorted.
std::vector<std::filesystem::path> conformance_gguf_files(const std::filesystem::path& dir);

// Runs the hearth binary with these arguments (no shell interpretation of them) and captures
// its exit code, standard output and standard error.
struct CommandResult {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;
  std::string err;
};
CommandResult run_hearth(const std::vector<std::string>& args);
// The same with environment variables (NAME, value) set for that run only (e.g. HEARTH_HOME).
CommandResult run_hearth(const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env);

// Reads a whole file as bytes (fails the test via exception when it cannot).
std::string read_file(const std::filesystem::path& path);

// Whether `text` holds `part` (for assertions on messages and command output).
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace hearth::test
