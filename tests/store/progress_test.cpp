// Progress formatting: sizes, durations, the terminal bar and plain log lines.
#include <gtest/gtest.h>

#include <cstdio>

#include "store/progress.h"

namespace hearth::store {
namespace {

TEST(ProgressTest, FormatsBytesInDecimalUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1500), "1.5 kB");
  EXPECT_EQ(format_bytes(2'700'000'000ull), "2.7 GB");
}

TEST(ProgressTest, FormatsDurations) {
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-1), "--");
}

TEST(ProgressTest, BarShowsPercentSizesRateAndEta) {
  Progress p{Progress::Phase::downloading, 500'000'000, 1'000'000'000, 10'000'000};
  std::string bar = render_progress_bar(p, 10);
  EXPECT_EQ(bar, "[=====>    ]   50%  500.0 MB / 1.0 GB  10.0 MB/s  ETA 50s");
  p.total_bytes = 0;
  EXPECT_EQ(render_progress_bar(p, 10), "500.0 MB  10.0 MB/s");
  EXPECT_EQ(render_progress_line({Progress::Phase::done, 10, 10, 0}), "done: 100% (10 B of 10 B)");
}

TEST(ProgressTest, PlainPrinterWritesAtMostOneLinePerIntervalAndEachPhaseChange) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  ProgressPrinter printer(out, /*terminal=*/false, std::chrono::hours(1));
  for (uint64_t i = 1; i <= 100; ++i) printer.show({Progress::Phase::downloading, i, 100, 1});
  printer.show({Progress::Phase::verifying, 50, 100, 1});
  printer.show({Progress::Phase::done, 100, 100, 1});
  std::rewind(out);
  char buffer[1024] = {};
  size_t n = std::fread(buffer, 1, sizeof buffer - 1, out);
  std::fclose(out);
  std::string text(buffer, n);
  EXPECT_EQ(text,
            "downloading: 1% (1 B of 100 B) at 1 B/s, 1m39s left\n"
            "verifying: 50% (50 B of 100 B) at 1 B/s, 50s left\n"
            "done: 100% (100 B of 100 B)\n");
}

}  // namespace
}  // namespace hearth::store
