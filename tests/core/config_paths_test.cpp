#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <fstream>

#include "core/config.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/paths.h"
#include "support/test_support.h"

namespace hearth {

TEST(Config, DefaultsEnvironmentAndOverrides) {
  ::unsetenv("HEARTH_MAX_QUEUE");
  EXPECT_EQ(config::get("HEARTH_MAX_QUEUE"), "512");
  ::setenv("HEARTH_MAX_QUEUE", "64", 1);
  EXPECT_EQ(config::get_int("HEARTH_MAX_QUEUE", 1, 100000), 64);
  ::setenv("HEARTH_MAX_QUEUE", "lots", 1);
  try {
    config::get_int("HEARTH_MAX_QUEUE", 1, 100000);
    FAIL() << "expected invalid_input";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("HEARTH_MAX_QUEUE=lots"), std::string::npos) << e.what();
  }
  ::unsetenv("HEARTH_MAX_QUEUE");
}

TEST(Config, EverySettingIsDocumented) {
  ASSERT_FALSE(config::settings().empty());
  for (const auto& s : config::settings()) {
    EXPECT_TRUE(s.env.starts_with("HEARTH_")) << s.env;
    EXPECT_FALSE(s.description.empty()) << s.env;
  }
}

TEST(Paths, HomeFollowsHearthHomeThenXdgThenHome) {
  ::setenv("HEARTH_HOME", "/tmp/hh", 1);
  EXPECT_EQ(paths::home(), "/tmp/hh");
  EXPECT_EQ(paths::blobs(), "/tmp/hh/blobs");
  EXPECT_EQ(paths::database(), "/tmp/hh/hearth.db");
  ::unsetenv("HEARTH_HOME");
  ::setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
  EXPECT_EQ(paths::home(), "/tmp/xdg/hearth");
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/tmp/user", 1);
  EXPECT_EQ(paths::manifests(), "/tmp/user/.local/share/hearth/manifests");
}

TEST(Paths, EnsureDirectoryCreatesParentsPrivately) {
  test::TempDir dir;
  auto nested = dir.path() / "a" / "b" / "c";
  paths::ensure_directory(nested);
  EXPECT_TRUE(std::filesystem::is_directory(nested));
  struct stat st {};
  ASSERT_EQ(::stat(nested.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  paths::ensure_directory(nested);  // again: no error
  std::ofstream(dir.path() / "file") << "x";
  EXPECT_THROW(paths::ensure_directory(dir.path() / "file" / "sub"), Error);
}

TEST(MappedFile, MapsContentsAndReportsMissingFiles) {
  test::TempDir dir;
  std::ofstream(dir.path() / "f", std::ios::binary) << "GGUF";
  MappedFile m(dir.path() / "f");
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m.bytes()[0], 'G');
  std::ofstream(dir.path() / "empty", std::ios::binary);
  EXPECT_EQ(MappedFile(dir.path() / "empty").size(), 0u);
  try {
    MappedFile missing(dir.path() / "nope");
    FAIL() << "expected not_found";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
  EXPECT_THROW(MappedFile(dir.path()), Error);  // a folder is not a regular file
}

// Read into memory (weights on huge pages): the same bytes as the mapping, for a file larger
// than one read and not a multiple of the 2 MiB rounding; empty files and errors as mapped.
TEST(MappedFile, ResidentCopyHoldsTheSameBytes) {
  test::TempDir dir;
  std::string data(3 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(dir.path() / "w", std::ios::binary) << data;
  const MappedFile mapped(dir.path() / "w");
  const MappedFile resident(dir.path() / "w", MappedFile::Residency::resident);
  EXPECT_FALSE(mapped.resident());
  EXPECT_TRUE(resident.resident());
  ASSERT_EQ(resident.size(), data.size());
  EXPECT_TRUE(std::equal(resident.bytes().begin(), resident.bytes().end(), mapped.bytes().begin()));
  // 3 MiB is far below half of any test machine's available memory.
  EXPECT_TRUE(MappedFile(dir.path() / "w", MappedFile::Residency::automatic).resident());
  std::ofstream(dir.path() / "empty", std::ios::binary);
  EXPECT_EQ(MappedFile(dir.path() / "empty", MappedFile::Residency::resident).size(), 0u);
  EXPECT_THROW(MappedFile(dir.path() / "nope", MappedFile::Residency::resident), Error);
}

}  // namespace hearth
