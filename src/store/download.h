// The downloader: one file from an HTTP(S) URL into the blob store, resumable and verified.
//
// How a download goes (after Ollama's server/download.go):
//   1. If the digest is known and blobs/sha256-<hex> exists, nothing is fetched.
//   2. A lock file is taken (flock), so a second process pulling the same blob waits and then
//      finds it in place. Within one process, concurrent fetches of one blob share one download:
//      the later callers wait for it and receive the same progress reports.
//   3. A HEAD request gives the size, Range support (Accept-Ranges: bytes), ETag and
//      Last-Modified. With Range support the file is split into up to `parts` ranges of at least
//      `min_part_size`, fetched in parallel (one libcurl handle per part, one thread each) and
//      written with pwrite into a preallocated partial file. Without it (or when the server
//      answers a ranged request with 200) one sequential stream is used, which can only restart
//      from zero.
//   4. A part that fails (connection lost, 5xx, no bytes for `stall_timeout`) is retried from
//      where it stopped after retry_delay, 2×, 4× ... (capped at 8 s); `max_retries` failures in
//      a row end the download (an attempt that brought at least 1 MiB resets the count, so a
//      flaky but moving server gets there). 404/410 give Error(not_found) naming the URL;
//      401/403 Error(unauthorized); other 4xx Error(invalid_input); 5xx and network failures
//      after the retries Error(unavailable). Partial data is kept in every case but a bad digest.
//   5. The finished file is hashed (incrementally for a sequential stream, else by re-reading
//      it); a mismatch with the expected digest deletes the partial file and gives
//      Error(corrupt_file) naming both digests. Otherwise it is renamed into blobs/sha256-<hex>.
//   A full disk gives Error(io, "disk full: ..."): from pwrite, keeping the partial data for a
//   resume; from the preallocation (fallocate) before any byte came, saying how much space is
//   needed and leaving nothing behind.
//   Cancellation (CancelToken, e.g. set by a Ctrl-C handler) stops within about a second and
//   leaves a resumable state; fetch then returns with `cancelled` set.
//
// Files beside the blobs, <key> being "sha256-<hex>" when the digest is known and
// "url-<first 32 hex of sha256(url)>" when not (renamed to sha256-<hex> after hashing):
//   <key>-partial        the data, preallocated to the full size
//   <key>-partial.json   the state, rewritten atomically every `state_flush_interval`
//   <key>-partial.lock   the flock that serialises processes (empty; removed after success)
// State file, version 1 (JSON):
//   { "schema": 1, "url": "...", "size": 123 (-1 when unknown), "etag": "...",
//     "last_modified": "...", "ranged": true,
//     "parts": [ {"start": 0, "end": 33554432, "done": 1048576}, ... ] }
// Part i covers bytes [start, end) and has its first `done` bytes on disk. The state is written
// only after the data it counts (fdatasync first), so a kill -9 loses at most one interval. On a
// restart with the same URL, size and ETag/Last-Modified the parts resume; otherwise (or for a
// sequential download) the partial file starts again from zero.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/progress.h"

namespace hearth::store {

class AddressPolicy;  // store/url_policy.h

// Set from any thread (or a signal handler: cancel() is a lock-free atomic store).
class CancelToken {
 public:
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

// pwrite's contract: returns bytes written or -1 with errno. Tests replace it to make a full disk.
using WriteFunction = std::function<ssize_t(int fd, const void* data, size_t size, off_t offset)>;

struct DownloadOptions {
  int parts = 4;                                    // parallel ranges, at most
  uint64_t min_part_size = 16ull << 20;             // bytes; smaller files use fewer parts
  std::chrono::milliseconds stall_timeout{30'000};  // no bytes for this long: retry the part
  int max_retries = 6;                              // failures in a row per part
  std::chrono::milliseconds retry_delay{1'000};     // first backoff; doubles, capped at 8 s
  std::chrono::milliseconds connect_timeout{15'000};
  std::chrono::milliseconds state_flush_interval{1'000};
  std::chrono::milliseconds progress_interval{250};
  WriteFunction write;  // empty: ::pwrite
  // Which addresses the download may connect to (url_policy.h); null: any. A refused address
  // (the URL's host, a redirect's, at any attempt) ends the download at once with
  // Error(invalid_input), before a connection is made.
  std::shared_ptr<const AddressPolicy> address_policy;
};

struct DownloadRequest {
  std::string url;
  std::string expected_digest;  // "sha256:<hex>" or "<hex>"; empty when not known
};

struct DownloadResult {
  bool cancelled = false;  // true: nothing else below is meaningful
  std::string digest;      // "sha256:<hex>"
  uint64_t size = 0;
  std::filesystem::path blob_path;
  bool already_present = false;  // the blob was in the store; nothing fetched
  bool shared = false;           // this caller joined another caller's download
  bool resumed = false;          // continued from a state file
  bool ranged = false;           // parallel ranged parts (false: one sequential stream)
  uint64_t bytes_fetched = 0;    // body bytes received by this download (all attempts)
};

class Downloader {
 public:
  explicit Downloader(std::filesystem::path blobs_dir, DownloadOptions options = {});

  const DownloadOptions& options() const { return options_; }

  // Blocks until the blob is in place, the download fails (Error, see above) or `cancel` is set.
  DownloadResult fetch(const DownloadRequest& request, const ProgressCallback& progress = {},
                       const CancelToken* cancel = nullptr);

 private:
  std::filesystem::path blobs_;
  DownloadOptions options_;
};

// A quick HEAD request (redirects followed, `policy` applied; null: any address) before a pull
// makes anything, through the same transfer path as the downloader. Returns the size when the
// server gives one. A host that cannot be reached fails fast with Error(unavailable) instead of
// waiting out the downloader's retries, a 404/410 is Error(not_found), and an address the policy
// refuses Error(invalid_input); every other answer is left for the download to judge (nullopt).
std::optional<uint64_t> check_url(const std::string& url,
                                  std::shared_ptr<const AddressPolicy> policy = nullptr);

// "sha256:<hex>" / "<hex>" → "<hex>" (lower case); Error(invalid_input) for anything else.
std::string digest_hex(std::string_view digest);

}  // namespace hearth::store
