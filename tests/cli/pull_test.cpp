// `hearth pull` end to end: the real binary against a loopback HTTP server with Range support,
// a temporary HEARTH_HOME and a database of the test's own (SQLite; PostgreSQL too when
// HEARTH_TEST_POSTGRES_URL is set).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli/library_test_util.h"
#include "support/json_test_util.h"

extern char** environ;

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::CommandResult;
using test::json_from;

class PullTest : public test::LibraryTest {};

using test::contains;

TEST_F(PullTest, FullPullFromServerIsListedShownAndScored) {
  const std::string hex = synth_tiny(served() / "Tiny_Chat-Q8_0.gguf");
  CommandResult r = hearth({"pull", server->url("Tiny_Chat-Q8_0.gguf")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "tiny_chat-q8_0:latest installed")) << r.out;
  EXPECT_TRUE(contains(r.out, "tokens/s")) << r.out;
  EXPECT_TRUE(contains(r.err, "fit") || contains(r.err, "pulling")) << r.err;
  EXPECT_TRUE(fs::exists(blobs() / ("sha256-" + hex)));

  r = hearth({"list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "NAME")) << r.out;
  EXPECT_TRUE(contains(r.out, "MODIFIED")) << r.out;
  EXPECT_TRUE(contains(r.out, "tiny_chat-q8_0:latest")) << r.out;
  EXPECT_TRUE(contains(r.out, hex.substr(0, 12))) << r.out;
  EXPECT_FALSE(contains(r.out, "note:")) << r.out;

  r = hearth({"show", "tiny_chat-q8_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part :
       {"architecture", "llama", "quantization", "Q8_0", "context length", "4096",
        "template format", "chatml", "source", "installed", "performance", "tokens/s"})
    EXPECT_TRUE(contains(r.out, part)) << part << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, server->url("Tiny_Chat-Q8_0.gguf"))) << r.out;

  r = hearth({"show", "tiny_chat-q8_0:latest", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::value j = json_from(r.out);
  EXPECT_EQ(j.at("name").as_string(), "tiny_chat-q8_0:latest");
  EXPECT_EQ(j.at_pointer("/model/architecture").as_string(), "llama");
  EXPECT_EQ(j.at_pointer("/model/quantization").as_string(), "Q8_0");
  EXPECT_EQ(j.at_pointer("/model/context_length"), json::value(4096));
  EXPECT_EQ(j.at_pointer("/manifest/blobs/0/digest").as_string(), "sha256:" + hex);
  EXPECT_EQ(j.at_pointer("/database/status").as_string(), "installed");
  EXPECT_GT(j.at_pointer("/database/performance_score").to_number<double>(), 0.0);

  auto row = this->row("tiny_chat-q8_0:latest");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::installed);
  EXPECT_DOUBLE_EQ(row->download_progress, 100.0);
  ASSERT_TRUE(row->performance_score);
  EXPECT_GT(*row->performance_score, 0.0);
  EXPECT_EQ(row->local_path, (blobs() / ("sha256-" + hex)).string());
  EXPECT_EQ(row->model_id, server->url("Tiny_Chat-Q8_0.gguf"));

  // Pulling again fetches nothing.
  server->reset_counters();
  r = hearth({"pull", server->url("Tiny_Chat-Q8_0.gguf")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "already installed")) << r.out;
  EXPECT_EQ(server->body_bytes_sent(), 0u);
}

TEST_F(PullTest, CatalogNameThroughUserCatalogAndDigestCheck) {
  const fs::path file = served() / "acme" / "tiny-GGUF" / "resolve" / "main" / "tiny-q8_0.gguf";
  const std::string hex = synth_tiny(file);
  write_user_catalog("tiny-test", "acme/tiny-GGUF", "tiny-q8_0.gguf", fs::file_size(file), hex);
  CommandResult r = hearth({"pull", "tiny-test"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "tiny-test:q8_0 installed")) << r.out;
  EXPECT_TRUE(contains(r.err, "fit: fits_")) << r.err;
  auto row = this->row("tiny-test:q8_0");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->model_id, "tiny-test");
  EXPECT_EQ(row->status, db::ModelStatus::installed);

  // A catalog digest that the served bytes do not match: rejected, nothing installed.
  const fs::path other = served() / "acme" / "tiny-GGUF" / "resolve" / "main" / "other.gguf";
  synth_tiny(other, "Q8_0", 2);
  const std::string wrong(64, 'a');
  write_user_catalog("tiny-bad", "acme/tiny-GGUF", "other.gguf", fs::file_size(other), wrong);
  r = hearth({"pull", "tiny-bad:q8_0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, wrong)) << r.err;  // names the expected digest
  r = hearth({"list"});
  EXPECT_FALSE(contains(r.out, "tiny-bad")) << r.out;
  EXPECT_EQ(test::blob_names(blobs()).size(), 1u);  // only tiny-test's blob
  row = this->row("tiny-bad:q8_0");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::failed);
}

TEST_F(PullTest, HuggingFaceReferenceUsesTheFileStem) {
  synth_tiny(served() / "someone" / "repo" / "resolve" / "main" / "Small-Model.Q8_0.gguf");
  CommandResult r = hearth({"pull", "hf://someone/repo/Small-Model.Q8_0.gguf"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "small-model.q8_0:latest installed")) << r.out;
}

TEST_F(PullTest, ModelThatWillNotFitIsRefusedUnlessForced) {
  const fs::path file = served() / "big" / "model" / "resolve" / "main" / "huge.gguf";
  synth_tiny(file);
  // The catalog says it needs 4 TB of RAM and 8 TB of disk.
  write_user_catalog("huge-model", "big/model", "huge.gguf", fs::file_size(file), "", 4096, 8192);
  CommandResult r = hearth({"pull", "huge-model"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "will not fit")) << r.err;
  EXPECT_TRUE(contains(r.err, "RAM")) << r.err;
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  EXPECT_TRUE(test::blob_names(blobs()).empty());
  EXPECT_FALSE(this->row("huge-model:q8_0"));

  r = hearth({"pull", "huge-model", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.err, "--force")) << r.err;
  EXPECT_TRUE(contains(hearth({"list"}).out, "huge-model:q8_0"));
}

TEST_F(PullTest, LocalFileIsImportedAsACopy) {
  const fs::path file = temp.path() / "models" / "My Model.gguf";
  const std::string hex = synth_tiny(file);
  CommandResult r = hearth({"pull", file.string()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "my-model:latest installed")) << r.out;
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat(file.c_str(), &a), 0);
  ASSERT_EQ(::stat((blobs() / ("sha256-" + hex)).c_str(), &b), 0);
  EXPECT_NE(a.st_ino, b.st_ino);  // a copy of its own (blob_integrity_test.cpp: why)

  r = hearth({"pull", file.string(), "--name", "mine:v1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = hearth({"list"});
  EXPECT_TRUE(contains(r.out, "my-model:latest")) << r.out;
  EXPECT_TRUE(contains(r.out, "mine:v1")) << r.out;
  EXPECT_EQ(test::blob_names(blobs()).size(), 1u);
  EXPECT_EQ(this->row("mine:v1")->status, db::ModelStatus::installed);
}

TEST_F(PullTest, FilesThatAreNotModelsAreRefusedAndNeverListed) {
  // Not GGUF at all: a local file and a download.
  const fs::path junk = temp.path() / "junk.gguf";
  std::ofstream(junk) << std::string(5000, 'x');
  CommandResult r = hearth({"pull", junk.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "GGUF")) << r.err;
  std::ofstream(served() / "junk.gguf") << std::string(5000, 'y');
  r = hearth({"pull", server->url("junk.gguf")});
  EXPECT_EQ(r.exit_code, 2);  // invalid_input: what the server sent is no model
  EXPECT_TRUE(contains(r.err, "not a usable GGUF")) << r.err;
  EXPECT_EQ(this->row("junk:latest")->status, db::ModelStatus::failed);
  r = hearth({"list"});
  EXPECT_FALSE(contains(r.out, "junk")) << r.out;
  EXPECT_TRUE(test::blob_names(blobs()).empty()) << test::blob_names(blobs()).size();

  // 404.
  r = hearth({"pull", server->url("missing.gguf")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "404")) << r.err;

  // A GGUF file that is no model: downloaded and verified, but it fails the load check, is
  // marked failed with the error, and `hearth rm` cleans it up.
  test::write_plain_gguf(served() / "plain.gguf", 1000);
  r = hearth({"pull", server->url("plain.gguf")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "does not load")) << r.err;
  EXPECT_TRUE(contains(r.err, "hearth rm plain:latest")) << r.err;
  auto row = this->row("plain:latest");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::failed);
  r = hearth({"list"});
  EXPECT_TRUE(contains(r.out, "note: plain:latest is failed")) << r.out;
  r = hearth({"rm", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(test::blob_names(blobs()).empty());
  EXPECT_FALSE(this->row("plain:latest"));
}

TEST_F(PullTest, UnreachableHostFailsFast) {
  auto start = std::chrono::steady_clock::now();
  CommandResult r = test::run_hearth({"pull", "hf://someone/repo/model.gguf"},
                                     {{"HEARTH_HOME", home().string()},
                                      {"HEARTH_DB", db_url},
                                      {"HEARTH_HF_ENDPOINT", "http://127.0.0.1:1"}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "cannot reach 127.0.0.1:1")) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// Runs hearth with the fixture's environment as a child process and returns its pid.
pid_t spawn_hearth(const std::vector<std::string>& args, const test::Env& env, const fs::path& out,
                   const fs::path& err) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& [k, v] : env) replaced |= entry.rfind(k + "=", 0) == 0;
    if (!replaced) envs.push_back(entry);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<std::string> argv_s = {test::hearth_binary().string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

TEST_F(PullTest, CtrlCPausesAndTheSameCommandResumes) {
  const fs::path file = served() / "slow.gguf";
  synth_tiny(file, "F32");
  const uint64_t size = fs::file_size(file);
  test::ServerFaults slow;
  slow.bytes_per_second = size / 6;  // about six seconds for the whole file
  server->set_faults(slow);

  const fs::path out = temp.path() / "pull.out", err = temp.path() / "pull.err";
  pid_t pid = spawn_hearth({"pull", server->url("slow.gguf")}, env(), out, err);
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server->body_bytes_sent() < size / 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_GE(server->body_bytes_sent(), size / 3);
  ::kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const std::string err_text = test::read_file(err);
  EXPECT_TRUE(contains(err_text, "download paused; run the same command to resume")) << err_text;
  EXPECT_FALSE(contains(hearth({"list"}).out, "slow"));
  auto row = this->row("slow:latest");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->status, db::ModelStatus::downloading);

  server->wait_until_idle();
  server->set_faults({});
  server->reset_counters();
  CommandResult r = hearth({"pull", server->url("slow.gguf")});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(server->body_bytes_sent(), size);  // resumed, not started again
  EXPECT_EQ(this->row("slow:latest")->status, db::ModelStatus::installed);
}

// The status rows through the db module, on each backend.
class PullDatabaseTest : public test::LibraryTest,
                         public ::testing::WithParamInterface<db::Backend> {
 protected:
  void SetUp() override {
    test::LibraryTest::SetUp();
    if (GetParam() == db::Backend::postgresql && !db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (make test starts a PostgreSQL)";
    scratch = std::make_unique<db::test::ScratchDatabase>(GetParam());
    db_url = scratch->url();
  }
  std::unique_ptr<db::test::ScratchDatabase> scratch;
};

TEST_P(PullDatabaseTest, StatusRowsAfterPulls) {
  synth_tiny(served() / "good.gguf");
  std::ofstream(served() / "bad.gguf") << std::string(3000, 'z');
  ASSERT_EQ(hearth({"pull", server->url("good.gguf")}).exit_code, 0);
  EXPECT_NE(hearth({"pull", server->url("bad.gguf")}).exit_code, 0);

  db::Database database = db::Database::open(db_url);
  EXPECT_EQ(database.backend(), GetParam());
  auto user = db::Users(database).find_by_name("local");
  ASSERT_TRUE(user);
  auto rows = db::PersonalModels(database).list_for_user(user->id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].custom_name, "good:latest");
  EXPECT_EQ(rows[0].status, db::ModelStatus::installed);
  EXPECT_DOUBLE_EQ(rows[0].download_progress, 100.0);
  ASSERT_TRUE(rows[0].performance_score);
  EXPECT_GT(*rows[0].performance_score, 0.0);
  EXPECT_GT(rows[0].model_size_gb, 0.0);
  EXPECT_EQ(rows[1].custom_name, "bad:latest");
  EXPECT_EQ(rows[1].status, db::ModelStatus::failed);

  // A second pull of the failed one goes failed → pending → ... → failed again; rm drops it.
  EXPECT_NE(hearth({"pull", server->url("bad.gguf")}).exit_code, 0);
  ASSERT_EQ(hearth({"rm", "bad"}).exit_code, 0);
  ASSERT_EQ(hearth({"rm", "good"}).exit_code, 0);
  EXPECT_TRUE(db::PersonalModels(database).list_for_user(user->id).empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, PullDatabaseTest,
                         ::testing::Values(db::Backend::sqlite, db::Backend::postgresql),
                         [](const auto& info) {
                           return std::string(db::backend_name(info.param));
                         });

}  // namespace
}  // namespace hearth
