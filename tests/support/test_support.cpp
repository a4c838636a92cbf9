#include "support/test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace hearth::test {

namespace {

// A folder counts as the data pack when it has the pack's README: an empty or unrelated folder
// makes the conformance tests skip (and say why) rather than fail on missing files.
bool is_conformance_pack(const std::filesystem::path& p) {
  return std::filesystem::is_regular_file(p / "README.md");
}

}  // namespace

std::optional<std::filesystem::path> conformance_dir() {
  if (const char* env = std::getenv("HEARTH_CONFORMANCE_DIR"); env != nullptr && *env != '\0') {
    std::filesystem::path p(env);
    if (is_conformance_pack(p)) return p;
    return std::nullopt;
  }
  auto p = std::filesystem::path(HEARTH_SOURCE_DIR) / ".." / "shared" / "conformance";
  if (is_conformance_pack(p)) return std::filesystem::weakly_canonical(p);
  return std::nullopt;
}

std::filesystem::path source_dir() { return std::filesystem::path(HEARTH_SOURCE_DIR); }

void expect_error(const std::function<void()>& fn, ErrorKind kind,
                  const std::vector<std::string>& fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected " << error_kind_name(kind);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const std::string& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
          << "message '" << e.what() << "' lacks '" << f << "'";
  }
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

std::vector<std::filesystem::path> conformance_gguf_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const char* sub : {"models", "tokenizer"})
    for (const auto& entry : std::filesystem::directory_iterator(dir / sub))
      if (entry.path().extension() == ".gguf") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

CommandResult run_hearth(const std::vector<std::string>& args) { return run_hearth(args, {}); }

CommandResult run_hearth(const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env) {
  TempDir tmp;
  const auto out = tmp.path() / "out", err = tmp.path() / "err";
  std::string command;
  if (!env.empty()) {
    command = "env";
    for (const auto& [name, value] : env) command += " " + shell_quoted(name + "=" + value);
    command += " ";
  }
  command += shell_quoted(hearth_binary().string());
  for (const auto& a : args) command += " " + shell_quoted(a);
  command += " >" + shell_quoted(out.string()) + " 2>" + shell_quoted(err.string());
  const int status = std::system(command.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hearth::test
