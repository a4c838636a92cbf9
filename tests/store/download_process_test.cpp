// Downloads in a separate process (tests/store_helper/pull_helper.cpp): killed with SIGKILL and
// resumed here, a real full disk (a small tmpfs), and two processes pulling one blob.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "core/error.h"
#include "store_test_util.h"
#include "support/json_test_util.h"

namespace hearth::test {
namespace {

using namespace std::chrono_literals;

// A running helper process; its standard output goes to a file.
class Helper {
 public:
  Helper(const std::vector<std::string>& args, const std::filesystem::path& output)
      : output_(output) {
    std::vector<std::string> argv_strings = {HEARTH_STORE_PULL_HELPER};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec: this process has threads
      if (out < 0 || ::dup2(out, STDOUT_FILENO) < 0) ::_exit(126);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    if (out >= 0) ::close(out);
  }
  ~Helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  void kill_now() { ::kill(pid_, SIGKILL); }
  // The exit code, or -signal when it was killed.
  int wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  std::string output() const { return read_file(output_); }

 private:
  pid_t pid_ = -1;
  std::filesystem::path output_;
};

uint64_t bytes_done_in_state(const std::filesystem::path& state) {
  try {
    const json::value parsed = json_from(read_file(state));
    uint64_t done = 0;
    for (const auto& part : parsed.at("parts").as_array())
      done += part.at("done").to_number<uint64_t>();
    return done;
  } catch (const std::exception&) {
    return 0;  // not written yet
  }
}

class DownloadProcessTest : public StoreFixture {};

TEST_F(DownloadProcessTest, KilledDownloadResumesFromItsSavedParts) {
  auto model = serve_model("model.gguf", 8 << 20);
  server->set_faults({.bytes_per_second = 1 << 20});  // per part: about 2 s for the whole file
  std::string url = server->url("model.gguf");
  auto state = blobs() / ("sha256-" + store::digest_hex(model.digest) + "-partial.json");
  {
    Helper child({home().string(), url, model.digest, "killed"}, temp.path() / "child.out");
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (bytes_done_in_state(state) < (3u << 20) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    child.kill_now();
    EXPECT_EQ(child.wait(), -SIGKILL);
  }
  uint64_t saved = bytes_done_in_state(state);
  ASSERT_GE(saved, 3u << 20) << "the child never got far enough";
  ASSERT_LT(saved, model.size) << "the child finished before it was killed";

  server->set_faults({});
  server->wait_until_idle();  // the killed child's connections end when the server notices
  server->reset_counters();
  store::Store store(home(), quick_download_options());
  EXPECT_TRUE(store.list().empty());
  store::PullRequest request;
  request.url = url;
  request.name = "killed";
  request.expected_digest = model.digest;
  auto manifest = store.pull(request);
  ASSERT_TRUE(manifest.has_value());
  EXPECT_EQ(read_file(store.blob_path(model.digest)), read_file(model.path));
  EXPECT_LE(server->body_bytes_sent(), model.size - saved);
  EXPECT_LT(server->body_bytes_sent(), model.size);
}

TEST_F(DownloadProcessTest, RealFullDiskOnASmallTmpfsFailsBeforeDownloading) {
  // tmpfs supports fallocate, so the space is claimed up front and a full disk shows at once.
  // (ENOSPC in the middle of a download is covered by DownloadTest with an injected write.)
  auto model = serve_model("model.gguf", 3 << 20);
  Helper child({home().string(), server->url("model.gguf"), model.digest, "big", "--tmpfs-bytes",
                std::to_string(1 << 20)},
               temp.path() / "child.out");
  int code = child.wait();
  std::string out = child.output();
  if (code == 77)
    GTEST_SKIP() << "no tmpfs in a private mount namespace here (needs root and "
                    "CAP_SYS_ADMIN; the injected ENOSPC test covers the logic): "
                 << out;
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("error io disk full"), std::string::npos) << out;
  EXPECT_NE(out.find("needs 3.1 MB"), std::string::npos) << out;
  EXPECT_EQ(out.find("-partial "), std::string::npos) << out;  // no empty partial file left
  EXPECT_EQ(server->body_bytes_sent(), 0u);
}

TEST_F(DownloadProcessTest, SecondProcessWaitsForTheFirstAndFindsTheBlob) {
  auto model = serve_model("model.gguf", 2 << 20);
  server->set_faults({.bytes_per_second = 1 << 20});
  std::string url = server->url("model.gguf");
  Helper child({home().string(), url, model.digest, "first"}, temp.path() / "child.out");
  auto lock = blobs() / ("sha256-" + store::digest_hex(model.digest) + "-partial.lock");
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (server->body_bytes_sent() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(std::filesystem::exists(lock));

  store::Store store(home(), quick_download_options());
  store::PullRequest request;
  request.url = url;
  request.name = "second";
  request.expected_digest = model.digest;
  ASSERT_TRUE(store.pull(request).has_value());
  EXPECT_EQ(child.wait(), 0) << child.output();
  EXPECT_EQ(server->body_bytes_sent(), model.size);  // one download for both processes
  EXPECT_EQ(store.list().size(), 2u);
  EXPECT_EQ(read_file(store.blob_path(model.digest)), read_file(model.path));
}

}  // namespace
}  // namespace hearth::test
