// Downloader::fetch: sharing one download between callers in this process (a registry keyed by
// the partial file) and between processes (flock on <key>-partial.lock). The work itself is in
// download_job.cpp.
#include "store/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "store/download_job.h"
#include "store/file_util.h"

namespace hearth::store {
namespace {

// One download in progress in this process, and everyone waiting for it.
struct SharedDownload {
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  DownloadResult result;
  std::exception_ptr error;
  std::map<int, ProgressCallback> listeners;
  int next_listener = 0;

  void report(const Progress& progress) {
    std::lock_guard lock(mutex);
    for (auto& [id, listener] : listeners) listener(progress);
  }
  int listen(ProgressCallback callback) {
    std::lock_guard lock(mutex);
    int id = next_listener++;
    if (callback) listeners.emplace(id, std::move(callback));
    return id;
  }
  void stop_listening(int id) {
    std::lock_guard lock(mutex);
    listeners.erase(id);
  }
};

std::mutex registry_mutex;
std::map<std::string, std::shared_ptr<SharedDownload>> registry;

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

// Holds the flock of <key>-partial.lock. The lock file is removed by a holder that finished, so
// after locking we check that the file we locked is still the one at the path (else retry).
class ProcessLock {
 public:
  // False when cancelled while waiting.
  bool acquire(const std::filesystem::path& path, const CancelToken* cancel) {
    for (;;) {
      UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
      if (!fd) throw Error(ErrorKind::io, path.string() + ": cannot open: " + errno_text(errno));
      while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR)
          throw Error(ErrorKind::io, path.string() + ": cannot lock: " + errno_text(errno));
        if (cancel != nullptr && cancel->cancelled()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      struct stat held {
      }, current{};
      if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &current) == 0 &&
          held.st_ino == current.st_ino && held.st_dev == current.st_dev) {
        fd_ = std::move(fd);
        path_ = path;
        return true;
      }
    }
  }
  // Called while still holding the lock, once nobody needs to wait for this download any more.
  void remove_file() { ::unlink(path_.c_str()); }

 private:
  UniqueFd fd_;  // closing it releases the lock
  std::filesystem::path path_;
};

DownloadResult present_blob(const std::filesystem::path& blob, const std::string& hex) {
  DownloadResult result;
  result.digest = "sha256:" + hex;
  result.size = std::filesystem::file_size(blob);
  result.blob_path = blob;
  result.already_present = true;
  return result;
}

}  // namespace

std::string digest_hex(std::string_view digest) {
  std::string_view hex = digest;
  if (hex.starts_with("sha256:") || hex.starts_with("sha256-")) hex.remove_prefix(7);
  if (hex.size() != 64 || !is_hex(hex))
    throw Error(ErrorKind::invalid_input,
                "'" + std::string(digest) + "' is not a SHA-256 digest (sha256:<64 hex digits>)");
  std::string out(hex);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Downloader::Downloader(std::filesystem::path blobs_dir, DownloadOptions options)
    : blobs_(std::move(blobs_dir)), options_(std::move(options)) {
  HEARTH_ASSERT(options_.parts >= 1 && options_.max_retries >= 0, "bad download options");
}

DownloadResult Downloader::fetch(const DownloadRequest& request, const ProgressCallback& progress,
                                 const CancelToken* cancel) {
  if (request.url.empty()) throw Error(ErrorKind::invalid_input, "no URL to download");
  {
    std::string scheme = request.url.substr(0, request.url.find("://") + 1);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "http:" && scheme != "https:")
      throw Error(ErrorKind::invalid_input,
                  request.url + ": only http:// and https:// addresses can be downloaded");
  }
  std::string hex = request.expected_digest.empty() ? "" : digest_hex(request.expected_digest);
  std::string key = hex.empty() ? "url-" + sha256_hex(request.url).substr(0, 32) : "sha256-" + hex;
  std::filesystem::path blob = blobs_ / ("sha256-" + hex);
  // A download under an address policy never joins one without (it would take in what the
  // policy refuses); the flock still serialises them.
  std::string registry_key =
      (blobs_ / key).lexically_normal().string() + (options_.address_policy ? "#guarded" : "");

  for (;;) {
    if (!hex.empty() && std::filesystem::exists(blob)) return present_blob(blob, hex);
    std::shared_ptr<SharedDownload> shared;
    bool owner = false;
    {
      std::lock_guard lock(registry_mutex);
      auto& slot = registry[registry_key];
      if (!slot) {
        slot = std::make_shared<SharedDownload>();
        owner = true;
      }
      shared = slot;
    }
    int listener = shared->listen(progress);

    if (!owner) {  // wait for the other caller's download, with its progress
      std::unique_lock lock(shared->mutex);
      while (!shared->finished && !(cancel != nullptr && cancel->cancelled()))
        shared->finished_cv.wait_for(lock, std::chrono::milliseconds(50));
      shared->listeners.erase(listener);
      if (!shared->finished) return cancelled_download();
      if (shared->error) std::rethrow_exception(shared->error);
      if (shared->result.cancelled) continue;  // its owner gave up: this caller takes over
      DownloadResult result = shared->result;
      result.shared = true;
      result.bytes_fetched = 0;
      return result;
    }

    DownloadResult result;
    std::exception_ptr error;
    try {
      paths::ensure_directory(blobs_);
      ProcessLock lock;
      if (!lock.acquire(blobs_ / (key + "-partial.lock"), cancel)) {
        result.cancelled = true;
      } else if (!hex.empty() && std::filesystem::exists(blob)) {
        result = present_blob(blob, hex);  // another process finished it while we waited
      } else {
        DownloadJob job(
            request.url, hex, blobs_, key, options_,
            [&shared](const Progress& p) { shared->report(p); }, cancel);
        result = job.run();
      }
      if (!result.cancelled) lock.remove_file();
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(registry_mutex);
      registry.erase(registry_key);
    }
    {
      std::lock_guard lock(shared->mutex);
      shared->listeners.erase(listener);
      shared->finished = true;
      shared->result = result;
      shared->error = error;
    }
    shared->finished_cv.notify_all();
    if (error) std::rethrow_exception(error);
    return result;
  }
}

}  // namespace hearth::store
