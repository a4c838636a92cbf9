// Installed models cannot be changed behind their digest: an import is a copy of its own, a blob
// whose size or modification time moved since its install is refused at load, and
// `hearth pull --verify` re-hashes (store/blob_stamp.h, cli/pull_verify.h). The real binary.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "cli/library_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;

using test::contains;

class BlobIntegrity : public test::LibraryTest {
 protected:
  // Imports a tiny model as "tiny:latest"; its blob's path.
  fs::path import_tiny() {
    source = temp.path() / "models" / "tiny.gguf";
    hex = synth_tiny(source);
    const CommandResult r = hearth({"pull", source.string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return blobs() / ("sha256-" + hex);
  }
  CommandResult generate() const {
    return hearth({"generate", "tiny", "--prompt", "hi", "-n", "2"});
  }
  CommandResult run() const { return hearth({"run", "tiny", "hi", "--max-tokens", "2"}); }
  static void expect_changed(const CommandResult& r) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_TRUE(contains(r.err, "model 'tiny:latest' changed on disk since it was installed"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "hearth pull --verify tiny:latest")) << r.err;
  }

  fs::path source;
  std::string hex;
};

TEST_F(BlobIntegrity, ChangingTheImportedFileLeavesTheModelAlone) {
  const fs::path blob = import_tiny();
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat(source.c_str(), &a), 0);
  ASSERT_EQ(::stat(blob.c_str(), &b), 0);
  EXPECT_NE(a.st_ino, b.st_ino);  // a copy, not a hard link
  EXPECT_EQ(b.st_nlink, 1u);

  // Overwrite the source with another model, then append to it.
  synth_tiny(source, "Q8_0", 7);
  std::ofstream(source, std::ios::app | std::ios::binary) << "junk";
  EXPECT_EQ(sha256_file_hex(blob), hex);
  EXPECT_EQ(generate().exit_code, 0) << generate().err;
  const CommandResult v = hearth({"pull", "--verify", "tiny"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_TRUE(contains(v.out, "tiny:latest is intact")) << v.out;
}

TEST_F(BlobIntegrity, AChangedBlobIsRefusedAtLoadAndVerifySaysSo) {
  const fs::path blob = import_tiny();
  ASSERT_EQ(generate().exit_code, 0);
  const uint64_t size = fs::file_size(blob);

  std::ofstream(blob, std::ios::app | std::ios::binary) << "appended";
  expect_changed(generate());
  expect_changed(run());
  CommandResult v = hearth({"pull", "--verify", "tiny"});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
  EXPECT_TRUE(contains(v.out, "corrupt")) << v.out;
  EXPECT_TRUE(contains(v.out, "hearth rm tiny:latest")) << v.out;
  expect_changed(generate());  // a failed verify does not bless the file

  ASSERT_EQ(::truncate(blob.c_str(), static_cast<off_t>(size / 2)), 0);
  expect_changed(generate());
  v = hearth({"pull", "--verify", "tiny"});
  EXPECT_EQ(v.exit_code, 1) << v.out << v.err;
}

TEST_F(BlobIntegrity, VerifyClearsAChangeThatLeftTheBytesIntact) {
  const fs::path blob = import_tiny();
  // A touch (a backup restore, a copy with new times): same bytes, another mtime.
  struct timespec times[2] = {{0, UTIME_OMIT}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, blob.c_str(), times, 0), 0);
  const CommandResult refused = generate();
  expect_changed(refused);
  EXPECT_TRUE(contains(refused.err, "modification time changed")) << refused.err;

  const CommandResult v = hearth({"pull", "--verify", "tiny"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_TRUE(contains(v.out, "sha256:" + hex + "  ok")) << v.out;
  EXPECT_EQ(generate().exit_code, 0) << generate().err;
  EXPECT_EQ(run().exit_code, 0) << run().err;

  EXPECT_EQ(hearth({"pull", "--verify", "nothing-here"}).exit_code, 3);
}

}  // namespace
}  // namespace hearth
