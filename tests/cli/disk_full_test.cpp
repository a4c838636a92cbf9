// A real full disk under `hearth data export` and under a training run's checkpoints: a small
// tmpfs mounted over the output folder (this needs root; without it the tests say so and skip —
// the full-disk download is covered by tests/store with both a tmpfs and an injected ENOSPC).
// Each run first succeeds on the small disk, then a second run fills it: the command fails with
// a clear error, the first run's files are still whole, and nothing half-written carries a final
// name.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "cli/train_recipe.h"
#include "data/data.h"
#include "db/conversations.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::contains;

// A tmpfs of `bytes` over `dir`, unmounted when destroyed; `error` says why it could not be made.
struct SmallDisk {
  fs::path dir;
  bool mounted = false;
  std::string error;
  SmallDisk(const fs::path& where, std::size_t bytes) : dir(where) {
    fs::create_directories(dir);
    const std::string size = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted = ::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, size.c_str()) == 0;
    if (!mounted) error = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
};

// name -> content of every file in `dir` and its subfolders (names relative to `dir`).
std::map<std::string, std::string> files_in(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = test::read_file(e.path());
  return out;
}

class DiskFull : public ::testing::Test {
 protected:
  CommandResult hearth(const std::vector<std::string>& args) const {
    return test::run_hearth(args, {{"HEARTH_HOME", (temp.path() / "home").string()},
                                   {"HEARTH_DB", "sqlite://" + (temp.path() / "hearth.db").string()},
                                   {"HEARTH_LOG", "warn"}});
  }
  test::TempDir temp;
};

TEST_F(DiskFull, ExportOnAFullDiskFailsClearlyAndKeepsThePreviousExport) {
  SmallDisk disk(temp.path() / "out", 64 << 10);
  if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << disk.error;
  const std::string db_url = "sqlite://" + (temp.path() / "hearth.db").string();
  auto seed = [&](int from, int n, std::size_t answer_bytes) {
    db::Database db = db::Database::open(db_url);
    db::Users users(db);
    auto u = users.find_by_name("local");
    const std::int64_t id = u ? u->id : users.create("local", "", "").id;
    db::UserSettingsStore(db).set({.user_id = id, .training_opt_in = true});
    db::Conversations conversations(db);
    for (int i = from; i < from + n; ++i) {
      auto c = conversations.create({.user_id = id, .model = "tiny:latest", .source = "openai"});
      conversations.add_message(id, c.id, {.role = "user", .content = "question " + std::to_string(i)});
      auto a = conversations.add_message(
          id, c.id,
          {.role = "assistant", .content = "answer " + std::to_string(i) + std::string(answer_bytes, 'x')});
      db::FeedbackStore(db).upsert(id, a.id, {.rating = 5});
    }
  };
  seed(0, 20, 10);
  const CommandResult first = hearth({"data", "export", "--out", disk.dir.string(), "--allow-small"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const auto before = files_in(disk.dir);
  ASSERT_FALSE(before.empty());

  seed(20, 200, 1000);  // ~200 KB of answers: more than the disk has left
  const CommandResult second =
      hearth({"data", "export", "--out", disk.dir.string(), "--validation", "0.2"});
  EXPECT_NE(second.exit_code, 0) << second.out;
  EXPECT_TRUE(contains(second.err, "No space left on device")) << second.err;
  EXPECT_FALSE(contains(second.out, "Exported")) << second.out;
  // The first export is untouched and nothing else is there (no temporary, no half file).
  EXPECT_EQ(files_in(disk.dir), before);
  // And no dataset version was recorded for the failed one.
  db::Database db = db::Database::open(db_url);
  EXPECT_EQ(db::DatasetVersions(db).list(db::Users(db).find_by_name("local")->id).size(), 1u);
}

std::uint64_t disk_bytes(const fs::path& dir) {
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += (e.file_size() + 4095) / 4096 * 4096;
  return total;
}


TEST_F(DiskFull, CheckpointOnAFullDiskFailsClearlyAndTheLastCompleteOneResumes) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  // One checkpoint's size, measured on the ordinary disk (a run of two steps keeps the first's).
  auto measure = test::train_recipe(dir, temp.path() / "measure.gguf", 2);
  measure.insert(measure.end(), {"--checkpoint-every", "1", "--checkpoint-dir",
                                 (temp.path() / "measure").string()});
  const CommandResult measured = hearth(measure);
  ASSERT_EQ(measured.exit_code, 0) << measured.out << measured.err;
  const std::uint64_t one = disk_bytes(temp.path() / "measure");
  ASSERT_GT(one, 0u);

  // Room for one checkpoint and half of the next: the second one cannot be completed, since the
  // first is kept until its successor is whole.
  SmallDisk disk(temp.path() / "checkpoints", one + one / 2);
  if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << disk.error;
  auto args = test::train_recipe(dir, temp.path() / "adapter.gguf", 4);
  args.insert(args.end(), {"--checkpoint-every", "1", "--checkpoint-dir", disk.dir.string()});
  const CommandResult r = hearth(args);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(contains(r.err, "No space left on device")) << r.err;
  EXPECT_FALSE(fs::exists(temp.path() / "adapter.gguf"));  // no final adapter from a failed run
  EXPECT_TRUE(fs::exists(disk.dir / "step-1" / "state.gguf"));
  EXPECT_TRUE(fs::exists(disk.dir / "step-1" / "adapter.gguf"));
  EXPECT_FALSE(fs::exists(disk.dir / "step-2" / "state.gguf"));  // never taken for complete
  for (const auto& [name, content] : files_in(disk.dir))
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << name;

  // The last complete checkpoint is good: copied to a disk with room (the unfinished folder
  // too), the run resumes from it and finishes.
  const fs::path copy = temp.path() / "resume";
  fs::copy(disk.dir, copy, fs::copy_options::recursive);
  const CommandResult resumed = hearth({"train", "--resume", copy.string(), "--threads", "1"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.out << resumed.err;
  EXPECT_TRUE(contains(resumed.out + resumed.err, "resuming after step 1")) << resumed.out << resumed.err;
  EXPECT_TRUE(fs::exists(temp.path() / "adapter.gguf"));
}

}  // namespace
}  // namespace hearth
