// The downloader against a real HTTP server on loopback, with faults switched on.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "core/error.h"
#include "store_test_util.h"

namespace hearth::test {
namespace {

using store::PullRequest;
using store::Store;

class DownloadTest : public StoreFixture {
 protected:
  PullRequest request_for(const TestModel& model, const std::string& name,
                          bool with_digest = true) {
    PullRequest r;
    r.url = server->url(model.path.filename().string());
    r.name = name;
    if (with_digest) r.expected_digest = model.digest;
    return r;
  }
  void expect_installed(const Store& store, const std::string& name, const TestModel& model) {
    auto manifest = store.find(name);
    ASSERT_TRUE(manifest.has_value()) << name;
    ASSERT_EQ(manifest->blobs.size(), 1u);
    EXPECT_EQ(manifest->blobs[0].digest, model.digest);
    EXPECT_EQ(manifest->blobs[0].size, model.size);
    EXPECT_EQ(read_file(store.blob_path(model.digest)), read_file(model.path));
    for (const auto& f : file_names(blobs()))  // no partial, state or lock file stays behind
      EXPECT_TRUE(f.starts_with("sha256-") && f.find("partial") == std::string::npos) << f;
  }
};

TEST_F(DownloadTest, FullPullInParallelPartsIsVerifiedAndInstalled) {
  auto model = serve_model("model.gguf", 3 << 20);
  Store store(home(), quick_download_options());
  std::vector<store::Progress> reports;
  auto manifest = store.pull(request_for(model, "tiny:q8_0"),
                             [&](const store::Progress& p) { reports.push_back(p); });
  ASSERT_TRUE(manifest.has_value());
  EXPECT_EQ(manifest->full_name(), "tiny:q8_0");
  EXPECT_EQ(manifest->source, request_for(model, "x").url);
  expect_installed(store, "tiny:q8_0", model);
  EXPECT_EQ(server->body_bytes_sent(), model.size);
  EXPECT_EQ(server->ranged_requests(), 4);
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.back().phase, store::Progress::Phase::done);
  EXPECT_EQ(reports.back().done_bytes, model.size);
  EXPECT_EQ(reports.back().total_bytes, model.size);
  ASSERT_EQ(store.list().size(), 1u);
}

TEST_F(DownloadTest, TheLastBytesAreAlwaysReportedHoweverRareTheReports) {
  auto model = serve_model("model.gguf", 2 << 20);
  auto options = quick_download_options();
  options.progress_interval = std::chrono::hours(1);  // only phase changes and completions
  Store store(home(), options);
  std::vector<store::Progress> downloading;
  store.pull(request_for(model, "tiny:q8_0"), [&](const store::Progress& p) {
    if (p.phase == store::Progress::Phase::downloading) downloading.push_back(p);
  });
  ASSERT_FALSE(downloading.empty());
  EXPECT_EQ(downloading.back().done_bytes, model.size) << "a client would never see 100 %";
  EXPECT_EQ(downloading.back().total_bytes, model.size);
}

TEST_F(DownloadTest, UnknownDigestIsNamedByContentAfterHashing) {
  auto model = serve_model("model.gguf", 1 << 20);
  Store store(home(), quick_download_options());
  auto manifest = store.pull(request_for(model, "tiny", /*with_digest=*/false));
  ASSERT_TRUE(manifest.has_value());
  EXPECT_EQ(manifest->full_name(), "tiny:latest");
  expect_installed(store, "tiny", model);
}

TEST_F(DownloadTest, BlobAlreadyInTheStoreIsNotFetchedAgain) {
  auto model = serve_model("model.gguf", 1 << 20);
  Store store(home(), quick_download_options());
  ASSERT_TRUE(store.pull(request_for(model, "a")).has_value());
  server->reset_counters();
  ASSERT_TRUE(store.pull(request_for(model, "b")).has_value());
  EXPECT_EQ(server->requests(), 0);
  EXPECT_EQ(store.list().size(), 2u);
}

TEST_F(DownloadTest, ServerWithoutRangeSupportGetsOneStream) {
  auto model = serve_model("model.gguf", 2 << 20);
  server->set_faults({.no_range = true});
  Store store(home(), quick_download_options());
  ASSERT_TRUE(store.pull(request_for(model, "plain")).has_value());
  expect_installed(store, "plain", model);
  EXPECT_EQ(server->body_bytes_sent(), model.size);
  EXPECT_EQ(server->requests(), 2);  // HEAD, then one GET for everything
}

TEST_F(DownloadTest, ServerIgnoringRangeRequestsFallsBackToOneStream) {
  auto model = serve_model("model.gguf", 2 << 20);
  server->set_faults({.ignore_range = true});
  Store store(home(), quick_download_options());
  ASSERT_TRUE(store.pull(request_for(model, "liar")).has_value());
  expect_installed(store, "liar", model);
}

TEST_F(DownloadTest, MissingFileIsNotFoundNamingTheUrl) {
  Store store(home(), quick_download_options());
  PullRequest r;
  r.url = server->url("missing.gguf");
  r.name = "missing";
  try {
    store.pull(r);
    FAIL() << "expected not_found";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find(r.url), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store.list().empty());
}

TEST_F(DownloadTest, ServiceUnavailableIsRetried) {
  auto model = serve_model("model.gguf", 1 << 20);
  server->set_faults({.fail_first_requests = 3});
  Store store(home(), quick_download_options());
  ASSERT_TRUE(store.pull(request_for(model, "retried")).has_value());
  expect_installed(store, "retried", model);
}

TEST_F(DownloadTest, StalledServerGivesUpWithAClearErrorInBoundedTime) {
  auto model = serve_model("model.gguf", 2 << 20);
  server->set_faults({.stall_after_bytes = 32 << 10});
  auto options = quick_download_options();
  options.stall_timeout = std::chrono::milliseconds(500);
  options.max_retries = 2;
  Store store(home(), options);
  auto started = std::chrono::steady_clock::now();
  try {
    store.pull(request_for(model, "stalled"));
    FAIL() << "expected unavailable";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("stalled"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_TRUE(store.list().empty());
  auto key = "sha256-" + store::digest_hex(model.digest);
  EXPECT_TRUE(std::filesystem::exists(blobs() / (key + "-partial.json")));  // kept to resume
}

TEST_F(DownloadTest, DroppedConnectionsAreResumedWhereTheyStopped) {
  auto model = serve_model("model.gguf", 4 << 20);
  server->set_faults({.drop_after_bytes = 1500 << 10});
  auto options = quick_download_options();
  options.parts = 1;
  Store store(home(), options);
  ASSERT_TRUE(store.pull(request_for(model, "dropped")).has_value());
  expect_installed(store, "dropped", model);
  EXPECT_EQ(server->body_bytes_sent(), model.size);  // no byte fetched twice
  EXPECT_EQ(server->ranged_requests(), 3);
}

TEST_F(DownloadTest, CorruptedByteIsRejectedAndNothingIsInstalled) {
  auto model = serve_model("model.gguf", 2 << 20);
  server->set_faults({.corrupt_offset = model.size / 2});
  Store store(home(), quick_download_options());
  try {
    store.pull(request_for(model, "corrupt"));
    FAIL() << "expected corrupt_file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
    std::string message = e.what();
    EXPECT_NE(message.find("expected " + model.digest), std::string::npos) << message;
    EXPECT_NE(message.find("got sha256:"), std::string::npos) << message;
  }
  EXPECT_TRUE(store.list().empty());
  for (const auto& f : file_names(blobs())) EXPECT_TRUE(f.ends_with(".lock")) << f;
}

TEST_F(DownloadTest, FullDiskKeepsThePartialDataAndTheNextPullResumes) {
  // ENOSPC injected through the write function (the tmpfs variant runs in a child process).
  auto model = serve_model("model.gguf", 4 << 20);
  auto options = quick_download_options();
  std::atomic<uint64_t> written{0};
  options.write = [&](int fd, const void* data, size_t size, off_t offset) -> ssize_t {
    if (written + size > (2u << 20)) {
      errno = ENOSPC;
      return -1;
    }
    written += size;
    return ::pwrite(fd, data, size, offset);
  };
  {
    Store store(home(), options);
    try {
      store.pull(request_for(model, "big"));
      FAIL() << "expected a disk full error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::io);
      EXPECT_TRUE(std::string(e.what()).starts_with("disk full")) << e.what();
      EXPECT_NE(std::string(e.what()).find("kept"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(store.list().empty());
  }
  auto key = "sha256-" + store::digest_hex(model.digest);
  EXPECT_TRUE(std::filesystem::exists(blobs() / (key + "-partial")));
  EXPECT_TRUE(std::filesystem::exists(blobs() / (key + "-partial.json")));
  server->reset_counters();
  Store store(home(), quick_download_options());
  ASSERT_TRUE(store.pull(request_for(model, "big")).has_value());
  expect_installed(store, "big", model);
  EXPECT_LE(server->body_bytes_sent(), model.size - (2u << 20) + (1u << 20));
}

TEST_F(DownloadTest, CancelLeavesAResumableState) {
  auto model = serve_model("model.gguf", 4 << 20);
  server->set_faults({.bytes_per_second = 2 << 20});
  Store store(home(), quick_download_options());
  store::CancelToken cancel;
  auto first = store.pull(
      request_for(model, "cancelled"),
      [&](const store::Progress& p) {
        if (p.done_bytes >= (2u << 20)) cancel.cancel();
      },
      &cancel);
  EXPECT_FALSE(first.has_value());
  EXPECT_TRUE(store.list().empty());
  server->set_faults({});
  server->reset_counters();
  ASSERT_TRUE(store.pull(request_for(model, "cancelled")).has_value());
  expect_installed(store, "cancelled", model);
  EXPECT_LT(server->body_bytes_sent(), model.size - (1u << 20));
}

TEST_F(DownloadTest, ConcurrentPullsShareOneDownloadAndNothingHalfInstalledIsListed) {
  auto model = serve_model("model.gguf", 3 << 20);
  server->set_faults({.bytes_per_second = 1 << 20});
  Store store(home(), quick_download_options());
  std::atomic<int> reports_a{0}, reports_b{0};
  std::atomic<bool> done{false};
  std::atomic<int> empty_lists{0}, listed_without_blob{0};
  std::thread watcher([&] {  // a listed model must always have its verified blob in place
    while (!done) {
      bool listed = !store.list().empty();
      if (listed && !std::filesystem::exists(store.blob_path(model.digest))) ++listed_without_blob;
      if (!listed) ++empty_lists;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::optional<store::Manifest> a, b;
  std::thread first(
      [&] { a = store.pull(request_for(model, "same"), [&](auto&) { ++reports_a; }); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread second(
      [&] { b = store.pull(request_for(model, "same"), [&](auto&) { ++reports_b; }); });
  first.join();
  second.join();
  done = true;
  watcher.join();
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  expect_installed(store, "same", model);
  EXPECT_EQ(server->body_bytes_sent(), model.size);
  EXPECT_GT(reports_a, 0);
  EXPECT_GT(reports_b, 0);     // the joining caller sees the shared download's progress
  EXPECT_GT(empty_lists, 10);  // the watcher looked while the download ran
  EXPECT_EQ(listed_without_blob, 0);
}

TEST_F(DownloadTest, ChangedFileOnTheServerRestartsFromZero) {
  auto old_model = serve_model("model.gguf", 2 << 20, 1);
  server->set_faults({.bytes_per_second = 2 << 20});
  Store store(home(), quick_download_options());
  store::CancelToken cancel;
  auto request = request_for(old_model, "changing", /*with_digest=*/false);
  EXPECT_FALSE(store
                   .pull(
                       request,
                       [&](const store::Progress& p) {
                         if (p.done_bytes >= (512u << 10)) cancel.cancel();
                       },
                       &cancel)
                   .has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a different mtime, so ETag
  auto new_model = serve_model("model.gguf", 2 << 20, 2);
  server->set_faults({});
  ASSERT_TRUE(store.pull(request).has_value());
  expect_installed(store, "changing", new_model);
}

}  // namespace
}  // namespace hearth::test
