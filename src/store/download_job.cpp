#include "store/download_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <thread>

#include "core/error.h"
#include "core/sha256.h"

namespace hearth::store {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kProgressResetBytes = 1ull
                                         << 20;  // an attempt bringing this much resets retries

std::string seconds_text(std::chrono::milliseconds ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms.count()) / 1000.0);
  return buffer;
}

}  // namespace

// What the part threads and the owner thread share during one pass.
struct DownloadJob::Attempt {
  DownloadState state;  // parts' start/end; `done` lives in part_done
  int fd = -1;
  bool ranged = false;
  std::vector<std::atomic<uint64_t>> part_done;
  std::atomic<bool> stop{false};
  std::atomic<size_t> finished_parts{0};   // part threads that returned, for any reason
  std::atomic<size_t> completed_parts{0};  // part threads that returned with all their bytes
  std::atomic<uint64_t> fetched{0};
  std::mutex mutex;
  std::condition_variable wake;
  std::exception_ptr fatal;
  bool range_ignored = false;
  std::unique_ptr<Sha256> stream_hash;  // sequential mode only: the bytes in order as they arrive

  explicit Attempt(size_t parts) : part_done(parts) {}
  void fail(std::exception_ptr error) {
    std::lock_guard lock(mutex);
    if (!fatal) fatal = std::move(error);
    stop = true;
    wake.notify_all();
  }
  uint64_t done_total() const {
    uint64_t total = 0;
    for (const auto& d : part_done) total += d.load();
    return total;
  }
};

DownloadJob::DownloadJob(std::string url, std::string expected_hex, std::filesystem::path blobs_dir,
                         const std::string& key, const DownloadOptions& options,
                         ProgressCallback report, const CancelToken* cancel)
    : url_(std::move(url)),
      expected_hex_(std::move(expected_hex)),
      blobs_(std::move(blobs_dir)),
      partial_(blobs_ / (key + "-partial")),
      state_path_(blobs_ / (key + "-partial.json")),
      options_(options),
      limits_{options.connect_timeout, options.stall_timeout, options.address_policy},
      report_(std::move(report)),
      cancel_(cancel) {}

DownloadResult DownloadJob::run() {
  auto probe = probe_with_retries();
  if (!probe) return cancelled_download();
  return download(*probe, probe->accepts_ranges && probe->size > 0);
}

bool DownloadJob::back_off(int failures, const std::function<bool()>& should_stop) const {
  auto delay = options_.retry_delay * (1 << std::min(failures - 1, 10));
  delay = std::min<std::chrono::milliseconds>(delay, std::chrono::milliseconds(8000));
  auto until = Clock::now() + delay;
  while (Clock::now() < until) {
    if (should_stop()) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  return !should_stop();
}

std::optional<ProbeResult> DownloadJob::probe_with_retries() {
  for (int failures = 1;; ++failures) {
    if (cancelled()) return std::nullopt;
    ProbeResult probe = probe_url(url_, limits_);
    if (!probe.refused.empty())
      throw Error(ErrorKind::invalid_input, refused_message(url_, probe.refused));
    long s = probe.status;
    if (s >= 200 && s < 300) return probe;
    if (s == 404 || s == 410)
      throw Error(ErrorKind::not_found, url_ + ": not found (HTTP " + std::to_string(s) + ")");
    if (s == 401 || s == 403)
      throw Error(ErrorKind::unauthorized, url_ + ": access refused (HTTP " + std::to_string(s) +
                                               "); the file may need a login or a token");
    if (s == 405 || s == 501) {  // no HEAD: one plain stream
      ProbeResult plain;
      plain.status = s;
      return plain;
    }
    if (s >= 400 && s < 500 && s != 408 && s != 429)
      throw Error(ErrorKind::invalid_input,
                  url_ + ": the server refused the request (HTTP " + std::to_string(s) + ")");
    std::string why = s == 0 ? probe.error : "HTTP " + std::to_string(s);
    if (failures > options_.max_retries)
      throw Error(ErrorKind::unavailable, url_ + ": " + why + " after " + std::to_string(failures) +
                                              " tries; try again later");
    spdlog::debug("{}: {}; retrying", url_, why);
    if (!back_off(failures, [this] { return cancelled(); })) return std::nullopt;
  }
}

DownloadResult DownloadJob::download(const ProbeResult& probe, bool ranged) {
  uint64_t size = probe.size > 0 ? static_cast<uint64_t>(probe.size) : 0;
  auto old = load_download_state(state_path_);
  std::error_code ec;
  bool resume = ranged && old && old->ranged && old->url == url_ && old->size == probe.size &&
                old->etag == probe.etag && old->last_modified == probe.last_modified &&
                std::filesystem::file_size(partial_, ec) == size && !ec;
  if (old && !resume) {
    if (!ranged)
      spdlog::info(
          "{}: the server does not support ranged requests; the download restarts "
          "from the beginning",
          url_);
    else
      spdlog::info("{}: the file on the server changed since the partial download; starting again",
                   url_);
  }

  UniqueFd fd(
      ::open(partial_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (resume ? 0 : O_TRUNC), 0644));
  if (!fd) throw Error(ErrorKind::io, partial_.string() + ": cannot open: " + errno_text(errno));

  DownloadState state{url_, probe.size, probe.etag, probe.last_modified, ranged, {}};
  if (resume)
    state.parts = old->parts;
  else if (ranged)
    state.parts = split_into_parts(size, options_.parts, options_.min_part_size);
  else
    state.parts = {PartState{0, size, 0}};
  if (!resume && size > 0 && ::fallocate(fd.get(), 0, 0, static_cast<off_t>(size)) != 0) {
    int error = errno;
    if (error == ENOSPC || error == EDQUOT) {  // nothing downloaded yet: leave nothing behind
      struct statvfs disk {};
      uint64_t free =
          ::fstatvfs(fd.get(), &disk) == 0 ? uint64_t{disk.f_bavail} * disk.f_frsize : 0;
      fd.reset();
      ::unlink(partial_.c_str());
      ::unlink(state_path_.c_str());
      throw Error(ErrorKind::io, "disk full: " + url_ + " needs " + format_bytes(size) + " and " +
                                     blobs_.string() + " has " + format_bytes(free) +
                                     " free; free some space and pull again");
    }
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)  // no fallocate here: sparse file
      throw_write_error(errno, partial_, url_);
  }

  Attempt attempt(state.parts.size());
  attempt.state = state;
  attempt.fd = fd.get();
  attempt.ranged = ranged;
  for (size_t i = 0; i < state.parts.size(); ++i) attempt.part_done[i] = state.parts[i].done;
  flush_state(attempt);

  std::vector<std::thread> threads;
  for (size_t i = 0; i < state.parts.size(); ++i)
    threads.emplace_back([this, &attempt, i] {
      try {
        run_part(attempt, i);
      } catch (...) {
        attempt.fail(std::current_exception());
      }
      attempt.finished_parts++;
      attempt.wake.notify_all();
    });

  // The owner thread reports progress and flushes the state until every part thread ends.
  auto next_flush = Clock::now() + options_.state_flush_interval;
  auto tick = std::min(options_.progress_interval, options_.state_flush_interval);
  while (attempt.finished_parts < threads.size()) {
    {
      std::unique_lock lock(attempt.mutex);
      attempt.wake.wait_for(
          lock, std::min<std::chrono::milliseconds>(tick, std::chrono::milliseconds(100)));
    }
    if (cancelled()) attempt.stop = true;
    report(Progress::Phase::downloading, attempt.done_total(), size);
    if (Clock::now() >= next_flush) {
      try {
        flush_state(attempt);
      } catch (...) {
        attempt.fail(std::current_exception());
      }
      next_flush = Clock::now() + options_.state_flush_interval;
    }
  }
  for (auto& t : threads) t.join();
  try {
    flush_state(attempt);
  } catch (...) {
    if (!attempt.fatal) attempt.fatal = std::current_exception();
  }
  if (attempt.fatal) std::rethrow_exception(attempt.fatal);
  if (attempt.range_ignored) {
    spdlog::info("{}: the server ignored a ranged request; downloading it as one stream", url_);
    return download(probe, false);
  }
  uint64_t done = attempt.done_total();
  if (attempt.completed_parts < threads.size()) return cancelled_download();

  std::string digest;
  if (ranged) {
    digest = hash_partial(fd.get(), done);
  } else {
    digest = attempt.stream_hash->finish_hex();
    if (::ftruncate(fd.get(), static_cast<off_t>(done)) != 0)
      throw_write_error(errno, partial_, url_);
  }
  DownloadResult result = install(std::move(fd), digest, done);
  result.resumed = resume;
  result.ranged = ranged;
  result.bytes_fetched = attempt.fetched;
  return result;
}

void DownloadJob::run_part(Attempt& attempt, size_t index) {
  const PartState part = attempt.state.parts[index];
  const bool size_known = attempt.state.size >= 0;
  const uint64_t length = part.end - part.start;
  auto should_stop = [this, &attempt] { return attempt.stop.load() || cancelled(); };
  int failures = 0;
  for (;;) {
    if (should_stop()) return;
    if (!attempt.ranged) {  // a plain stream can only start again from zero
      attempt.part_done[index] = 0;
      attempt.stream_hash = std::make_unique<Sha256>();
    }
    uint64_t done = attempt.part_done[index];
    if (size_known && attempt.ranged && done >= length) {
      attempt.completed_parts++;
      return;
    }

    RangeRequest request;
    request.url = url_;
    request.ranged = attempt.ranged;
    request.from = part.start + done;
    if (attempt.ranged) request.to = part.end - 1;
    uint64_t offset = part.start + done;
    request.sink = [&](const char* data, size_t n) {
      if (size_known && offset + n > part.end) n = part.end - offset;  // a server sending extra
      size_t written = 0;
      while (written < n) {
        ssize_t w = options_.write ? options_.write(attempt.fd, data + written, n - written,
                                                    static_cast<off_t>(offset + written))
                                   : ::pwrite(attempt.fd, data + written, n - written,
                                              static_cast<off_t>(offset + written));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          int error = w < 0 ? errno : EIO;
          try {
            throw_write_error(error, partial_, url_);
          } catch (...) {
            attempt.fail(std::current_exception());
          }
          return false;
        }
        written += static_cast<size_t>(w);
      }
      if (!attempt.ranged)
        attempt.stream_hash->update(std::span(reinterpret_cast<const uint8_t*>(data), n));
      offset += n;
      attempt.part_done[index] += n;
      attempt.fetched += n;
      return true;
    };
    request.should_stop = should_stop;
    TransferOutcome outcome = run_transfer(request, limits_);

    std::string why;
    uint64_t now_done = attempt.part_done[index];
    switch (outcome.end) {
      case TransferEnd::complete:
        if (!size_known || now_done >= length) {
          attempt.completed_parts++;
          return;
        }
        why = "the server ended the response early";
        break;
      case TransferEnd::range_ignored: {
        std::lock_guard lock(attempt.mutex);
        attempt.range_ignored = true;
        attempt.stop = true;
        return;
      }
      case TransferEnd::stopped:
      case TransferEnd::sink_refused:
        return;
      case TransferEnd::refused:  // e.g. a redirect, or DNS, that changed since the probe
        throw Error(ErrorKind::invalid_input, refused_message(url_, outcome.error));
      case TransferEnd::http_error: {
        long s = outcome.status;
        if (s == 404 || s == 410)
          throw Error(ErrorKind::not_found, url_ + ": not found (HTTP " + std::to_string(s) + ")");
        if (s == 401 || s == 403)
          throw Error(ErrorKind::unauthorized,
                      url_ + ": access refused (HTTP " + std::to_string(s) + ")");
        if (s < 500 && s != 408 && s != 429)
          throw Error(ErrorKind::invalid_input,
                      url_ + ": the server refused the request (HTTP " + std::to_string(s) + ")");
        why = "HTTP " + std::to_string(s);
        break;
      }
      case TransferEnd::stalled:
        why = "stalled: no data for " + seconds_text(options_.stall_timeout);
        break;
      case TransferEnd::network_error:
        why = outcome.error;
        break;
    }
    if (outcome.bytes >= kProgressResetBytes) failures = 0;
    if (++failures > options_.max_retries)
      throw Error(ErrorKind::unavailable,
                  url_ + ": " + why + " (" + std::to_string(failures) + " tries in a row); " +
                      "the partial download is kept and resumes when you pull again");
    spdlog::debug("{}: part {}: {}; retrying", url_, index, why);
    if (!back_off(failures, should_stop)) return;
  }
}

void DownloadJob::flush_state(Attempt& attempt) {
  DownloadState snapshot = attempt.state;
  for (size_t i = 0; i < snapshot.parts.size(); ++i) snapshot.parts[i].done = attempt.part_done[i];
  // The data the state counts must reach the disk before the state that counts it.
  if (::fdatasync(attempt.fd) != 0 && (errno == ENOSPC || errno == EDQUOT))
    throw_write_error(errno, partial_, url_);
  save_download_state(state_path_, snapshot);
}

void DownloadJob::report(Progress::Phase phase, uint64_t done, uint64_t total) {
  auto now = Clock::now();
  rate_samples_.emplace_back(now, done);
  while (rate_samples_.size() > 2 && now - rate_samples_.front().first > std::chrono::seconds(5))
    rate_samples_.pop_front();
  double rate = 0;
  auto [t0, b0] = rate_samples_.front();
  double seconds = std::chrono::duration<double>(now - t0).count();
  if (seconds > 0.05 && done >= b0) rate = static_cast<double>(done - b0) / seconds;
  // At most one report per progress_interval within a phase; phase changes and the report that
  // completes a phase (every byte counted) always go out, so a client sees 100 %.
  if (!report_) return;
  const bool complete = total > 0 && done >= total;
  if (phase == last_phase_ && !complete && now - last_report_ < options_.progress_interval) return;
  last_phase_ = phase;
  last_report_ = now;
  report_(Progress{phase, done, total, rate});
}

}  // namespace hearth::store
