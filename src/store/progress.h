// Download progress: what the downloader reports, and how a terminal or a log shows it.
//
// The downloader calls a ProgressCallback at most once per DownloadOptions::progress_interval
// while bytes arrive, once per phase change, and once at the end (phase done). Every caller that
// joins a shared download gets the same reports. Callbacks run on the downloading thread and
// must not throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace hearth::store {

struct Progress {
  enum class Phase { downloading, verifying, done };
  Phase phase = Phase::downloading;
  uint64_t done_bytes = 0;      // downloaded (or hashed, while verifying)
  uint64_t total_bytes = 0;     // 0 when the server did not say
  double bytes_per_second = 0;  // recent rate
};

using ProgressCallback = std::function<void(const Progress&)>;

// "1.5 GB", "312.0 MB", "900 B" (decimal units, as disk makers and download tools use).
std::string format_bytes(uint64_t bytes);
// "1h02m", "3m05s", "42s"; "--" for an unknown or absurd time.
std::string format_duration(double seconds);

// One terminal line: "[=========>          ]  45%  1.2 GB / 2.7 GB  35.2 MB/s  ETA 42s".
// Without a total: "1.2 GB  35.2 MB/s". `width` is the bar's inner width.
std::string render_progress_bar(const Progress& progress, int width = 30);
// One log line: "downloading: 45% (1.2 GB of 2.7 GB) at 35.2 MB/s, 42s left".
std::string render_progress_line(const Progress& progress);

// Shows progress on a stream: on a terminal, one line redrawn in place ('\r'); otherwise a
// plain line at most every `line_interval` (and at each phase change and the end).
class ProgressPrinter {
 public:
  explicit ProgressPrinter(std::FILE* out, bool terminal,
                           std::chrono::milliseconds line_interval = std::chrono::seconds(5));
  // True when `out` is a terminal.
  static ProgressPrinter for_stream(std::FILE* out);

  void show(const Progress& progress);
  ProgressCallback callback() {
    return [this](const Progress& p) { show(p); };
  }

 private:
  std::FILE* out_;
  bool terminal_;
  std::chrono::milliseconds line_interval_;
  std::chrono::steady_clock::time_point last_line_{};
  Progress::Phase last_phase_ = Progress::Phase::downloading;
  bool shown_any_ = false;
};

}  // namespace hearth::store
