// One download run by its owner thread: probe, parts, state flushing, verification and install.
// Internal to the store module; download.cpp adds sharing between callers and processes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/download.h"
#include "store/download_state.h"
#include "store/file_util.h"
#include "store/http_transfer.h"

namespace hearth::store {

class DownloadJob {
 public:
  // `key` names the partial files (sha256-<hex> or url-<hash>); `expected_hex` may be empty.
  DownloadJob(std::string url, std::string expected_hex, std::filesystem::path blobs_dir,
              const std::string& key, const DownloadOptions& options, ProgressCallback report,
              const CancelToken* cancel);

  DownloadResult run();

 private:
  struct Attempt;  // the shared state of one pass over the parts (download_job.cpp)

  bool cancelled() const { return cancel_ != nullptr && cancel_->cancelled(); }
  std::optional<ProbeResult> probe_with_retries();
  DownloadResult download(const ProbeResult& probe, bool ranged);
  void run_part(Attempt& attempt, size_t index);
  void flush_state(Attempt& attempt);
  void report(Progress::Phase phase, uint64_t done, uint64_t total);
  std::string hash_partial(int fd, uint64_t size);
  DownloadResult install(UniqueFd fd, const std::string& digest, uint64_t size);
  // Sleeps for the backoff of the n-th failure in a row; false when stopped meanwhile.
  bool back_off(int failures, const std::function<bool()>& should_stop) const;

  std::string url_;
  std::string expected_hex_;
  std::filesystem::path blobs_;
  std::filesystem::path partial_;
  std::filesystem::path state_path_;
  DownloadOptions options_;
  TransferLimits limits_;
  ProgressCallback report_;
  const CancelToken* cancel_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, uint64_t>> rate_samples_;
  std::chrono::steady_clock::time_point last_report_{};
  Progress::Phase last_phase_ = Progress::Phase::done;
};

inline DownloadResult cancelled_download() {
  DownloadResult result;
  result.cancelled = true;
  return result;
}

// Error(io) for a failed write; "disk full: ..." for ENOSPC, saying the partial data is kept.
[[noreturn]] void throw_write_error(int error, const std::filesystem::path& partial,
                                    const std::string& url);

}  // namespace hearth::store
