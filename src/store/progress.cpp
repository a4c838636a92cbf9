#include "store/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace hearth::store {
namespace {

std::string printf_string(const char* format, double a) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, a);
  return buffer;
}

// Seconds left at the current rate; negative when unknown.
double seconds_left(const Progress& p) {
  if (p.total_bytes == 0 || p.bytes_per_second <= 0 || p.done_bytes > p.total_bytes) return -1;
  return static_cast<double>(p.total_bytes - p.done_bytes) / p.bytes_per_second;
}

int percent(const Progress& p) {
  if (p.total_bytes == 0) return 0;
  return static_cast<int>(std::min<uint64_t>(100, p.done_bytes * 100 / p.total_bytes));
}

const char* phase_name(Progress::Phase phase) {
  switch (phase) {
    case Progress::Phase::downloading:
      return "downloading";
    case Progress::Phase::verifying:
      return "verifying";
    case Progress::Phase::done:
      return "done";
  }
  return "";
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"kB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return printf_string("%.1f ", value) + kUnits[unit];
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 360000) return "--";
  long s = std::lround(seconds);
  char buffer[32];
  if (s >= 3600)
    std::snprintf(buffer, sizeof buffer, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60)
    std::snprintf(buffer, sizeof buffer, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buffer, sizeof buffer, "%lds", s);
  return buffer;
}

std::string render_progress_bar(const Progress& p, int width) {
  std::string rate = format_bytes(static_cast<uint64_t>(p.bytes_per_second)) + "/s";
  if (p.total_bytes == 0) return format_bytes(p.done_bytes) + "  " + rate;
  int filled = width * percent(p) / 100;
  std::string bar = "[" + std::string(static_cast<size_t>(filled), '=');
  if (filled < width) bar += '>' + std::string(static_cast<size_t>(width - filled - 1), ' ');
  bar += "]";
  char pct[8];
  std::snprintf(pct, sizeof pct, "%4d%%", percent(p));
  std::string line =
      bar + " " + pct + "  " + format_bytes(p.done_bytes) + " / " + format_bytes(p.total_bytes);
  if (p.phase == Progress::Phase::verifying) return line + "  verifying";
  if (p.phase == Progress::Phase::done) return line + "  done";
  return line + "  " + rate + "  ETA " + format_duration(seconds_left(p));
}

std::string render_progress_line(const Progress& p) {
  std::string line = phase_name(p.phase);
  if (p.total_bytes > 0)
    line += ": " + std::to_string(percent(p)) + "% (" + format_bytes(p.done_bytes) + " of " +
            format_bytes(p.total_bytes) + ")";
  else
    line += ": " + format_bytes(p.done_bytes);
  if (p.phase == Progress::Phase::done) return line;
  line += " at " + format_bytes(static_cast<uint64_t>(p.bytes_per_second)) + "/s";
  if (double left = seconds_left(p); left >= 0) line += ", " + format_duration(left) + " left";
  return line;
}

ProgressPrinter::ProgressPrinter(std::FILE* out, bool terminal,
                                 std::chrono::milliseconds line_interval)
    : out_(out), terminal_(terminal), line_interval_(line_interval) {}

ProgressPrinter ProgressPrinter::for_stream(std::FILE* out) {
  return ProgressPrinter(out, ::isatty(::fileno(out)) == 1);
}

void ProgressPrinter::show(const Progress& p) {
  if (terminal_) {
    // Clear to the end of the line (the previous one may have been longer).
    std::fprintf(out_, "\r%s\x1b[K", render_progress_bar(p).c_str());
    if (p.phase == Progress::Phase::done) std::fputc('\n', out_);
    std::fflush(out_);
    return;
  }
  auto now = std::chrono::steady_clock::now();
  bool due = !shown_any_ || p.phase != last_phase_ || now - last_line_ >= line_interval_;
  if (!due) return;
  std::fprintf(out_, "%s\n", render_progress_line(p).c_str());
  std::fflush(out_);
  shown_any_ = true;
  last_phase_ = p.phase;
  last_line_ = now;
}

}  // namespace hearth::store
