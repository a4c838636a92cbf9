// The installed models through the real binary: list, show, rm, cp, ps, and installed names
// accepted by every model-taking command.
#include <fstream>

#include "cli/library_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;

using test::contains;

class InstalledModelsTest : public test::LibraryTest {
 protected:
  // Imports a tiny model under `name`; returns its blob's digest hex.
  std::string install(const std::string& name, int seed = 1) {
    const fs::path file = temp.path() / "models" / ("m" + std::to_string(seed) + ".gguf");
    const std::string hex =
        fs::exists(file) ? sha256_file_hex(file) : synth_tiny(file, "Q8_0", seed);
    CommandResult r = hearth({"pull", file.string(), "--name", name});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return hex;
  }
};

TEST_F(InstalledModelsTest, EmptyLibrary) {
  CommandResult r = hearth({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "NAME")) << r.out;
  EXPECT_TRUE(contains(r.out, "SIZE")) << r.out;

  r = hearth({"run", "nosuch", "hello"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "'nosuch' is not installed")) << r.err;
  EXPECT_TRUE(contains(r.err, "no models installed; try hearth pull fast-assistant")) << r.err;

  r = hearth({"show", "nosuch"});
  EXPECT_EQ(r.exit_code, 3);
  r = hearth({"generate", "missing/file.gguf", "--prompt", "x"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "does not exist")) << r.err;
}

TEST_F(InstalledModelsTest, InstalledNamesWorkEverywhere) {
  install("chat-model:v1");
  CommandResult r = hearth({"run", "chat-model:v1", "hello", "--max-tokens", "3", "--seed", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = hearth({"run", "chat-model", "hello", "--max-tokens", "3", "--seed", "1"});  // only tag
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = hearth({"generate", "chat-model:v1", "--prompt", "hello", "-n", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path logits = temp.path() / "logits.f32";
  r = hearth({"logits", "chat-model:v1", "--prompt", "hello", "--out", logits.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(fs::file_size(logits), 1000u * sizeof(float));  // the tiny shape's vocabulary
  r = hearth({"show", "chat-model:v1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "4 times")) << r.out;  // run, run, generate, logits

  // A GGUF path still works, and show reads files too.
  r = hearth({"show", (temp.path() / "models" / "m1.gguf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Q8_0")) << r.out;

  r = hearth({"run", "other", "hello"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "installed models: chat-model:v1")) << r.err;

  // The GGUF tools take installed names too.
  r = hearth({"inspect", "chat-model:v1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Q8_0")) << r.out;
  r = hearth({"tokenize", "chat-model", "--text", "hello"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string ids = r.out.substr(0, r.out.find('\n'));
  ASSERT_FALSE(ids.empty()) << r.out;
  r = hearth({"detokenize", "chat-model:v1", "--ids", ids});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  r = hearth({"inspect", "other"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "installed models: chat-model:v1")) << r.err;
}

TEST_F(InstalledModelsTest, CopyAndRemoveKeepSharedBlobs) {
  const std::string a = install("alpha");
  const std::string b = install("beta", 2);
  EXPECT_EQ(test::blob_names(blobs()).size(), 2u);

  CommandResult r = hearth({"cp", "alpha", "me/alpha-copy:v2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "copied 'alpha:latest' to 'me/alpha-copy:v2'")) << r.out;
  r = hearth({"list"});
  EXPECT_TRUE(contains(r.out, "me/alpha-copy:v2")) << r.out;
  EXPECT_EQ(this->row("me/alpha-copy:v2")->status, db::ModelStatus::installed);
  EXPECT_TRUE(this->row("me/alpha-copy:v2")->performance_score);
  r = hearth({"cp", "alpha", "beta"});
  EXPECT_NE(r.exit_code, 0);  // exists
  r = hearth({"cp", "nosuch", "x"});
  EXPECT_EQ(r.exit_code, 3);
  r = hearth({"run", "me/alpha-copy:v2", "hi", "--max-tokens", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // Removing one name keeps the blob another name uses.
  r = hearth({"rm", "alpha"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "deleted 'alpha:latest'")) << r.out;
  EXPECT_TRUE(fs::exists(blobs() / ("sha256-" + a)));
  EXPECT_FALSE(this->row("alpha:latest"));

  r = hearth({"rm", "me/alpha-copy:v2", "beta", "nosuch"});
  EXPECT_EQ(r.exit_code, 3);  // one was unknown; the others went
  EXPECT_TRUE(contains(r.err, "'nosuch' is not installed")) << r.err;
  EXPECT_TRUE(test::blob_names(blobs()).empty());
  EXPECT_FALSE(contains(hearth({"list"}).out, "beta"));
}

TEST_F(InstalledModelsTest, PsWithoutAServer) {
  CommandResult r = hearth({"ps"});  // HEARTH_HOST is 127.0.0.1:1: nothing listens
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // a script can tell
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "no hearth server is running at 127.0.0.1:1")) << r.err;
  EXPECT_TRUE(contains(r.err, "hearth serve")) << r.err;
}

}  // namespace
}  // namespace hearth
