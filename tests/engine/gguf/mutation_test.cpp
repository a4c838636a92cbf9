// Deterministic mutation test: truncations, bit flips and hostile values in every kind of count and
// length field, applied to the conformance files and to hand-built ones. Each mutant must either
// parse or raise hearth::Error(corrupt_file | unsupported) naming the file; anything else (another
// exception, a crash, a sanitizer report, an assertion) fails.
//
// Cost is bounded per file: a full parse of a file with an H-byte header costs about H, so each
// file gets a budget of parse work (kBudgetBytes); mutants near the start are cheap because the
// parse stops there. Hand-built files are small enough to truncate at every offset.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "gguf_fields.h"
#include "sample_files.h"
#include "support/test_support.h"

namespace hearth::gguf {
namespace {

namespace fs = std::filesystem;
using test::Field;

constexpr double kBudgetBytes = 12e6;  // parse work per conformance file, in header bytes

uint64_t stable_hash(std::string_view s) {  // FNV-1a: the same seed on every platform
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

class MutationRun {
 public:
  MutationRun(std::string name, std::vector<uint8_t> bytes)
      : name_(std::move(name)), bytes_(std::move(bytes)), rng_(stable_hash(name_)) {
    const File original = File::parse(bytes_, name_);  // the unmutated file must be valid
    header_size_ = original.header_size();
    fields_ = test::gguf_fields(bytes_);
  }

  void exhaustive() {
    for (uint64_t n = 0; n < bytes_.size(); ++n) truncate(n);
    for (size_t f = 0; f < fields_.size(); ++f) hostile_values(fields_[f]);
    for (int k = 0; k < 3000; ++k) flip(pick(bytes_.size()));
  }

  // Spends about `budget_bytes` of parse work spread over the three kinds of mutation.
  void within_budget(double budget_bytes) {
    const double units = std::clamp(budget_bytes / static_cast<double>(header_size_), 6.0, 3000.0);
    const double share = units / 3;
    // Truncations cost offset / header on average half a parse each.
    const auto n_truncations = static_cast<uint64_t>(2 * share);
    for (uint64_t k = 0; k < n_truncations; ++k)
      truncate(k * header_size_ / n_truncations +
               pick(std::max<uint64_t>(1, header_size_ / n_truncations)));
    for (int k = 0; k < 16 && bytes_.size() > header_size_; ++k)
      truncate(header_size_ + pick(bytes_.size() - header_size_));
    // Flips mostly land in the header, where they matter; most are accepted, a full parse each.
    for (uint64_t k = 0; k < static_cast<uint64_t>(share); ++k)
      flip(k % 4 == 3 ? pick(bytes_.size()) : pick(header_size_));
    // Hostile field values: every element count (header and arrays), then a seeded sample of the
    // other fields (string lengths, types, shapes, offsets) within the budget. Each costs about
    // position / header: the parse fails there or soon after.
    std::vector<Field> others;
    for (const Field& field : fields_) {
      if (field.kind == Field::count)
        hostile_values(field);
      else
        others.push_back(field);
    }
    std::shuffle(others.begin(), others.end(), rng_);
    double spent = 0;
    for (const Field& field : others) {
      spent += 4.0 * static_cast<double>(field.position) / static_cast<double>(header_size_);
      if (spent > share) break;
      hostile_values(field);
    }
  }

  int accepted() const { return accepted_; }
  int rejected() const { return rejected_; }
  size_t fields() const { return fields_.size(); }

 private:
  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  void truncate(uint64_t n) {
    const bool ok = parse(std::span(bytes_).first(n), "truncated to " + std::to_string(n));
    // Nothing before the end of the tensor infos can be missing.
    if (n < header_size_ && ok) ADD_FAILURE() << name_ << " accepted when truncated to " << n;
  }

  void flip(uint64_t position) {
    const auto bit = static_cast<uint8_t>(1u << pick(8));
    bytes_[position] ^= bit;
    parse(bytes_, "bit flip at " + std::to_string(position));
    bytes_[position] ^= bit;
  }

  void hostile_values(const Field& field) {
    const uint64_t size = bytes_.size();
    const uint64_t values[] = {~uint64_t{0}, uint64_t{1} << 62, size + 1, 0};
    uint8_t saved[8];
    std::memcpy(saved, &bytes_[field.position], field.width);
    for (uint64_t v : values) {
      if (field.width == 4 && v == uint64_t{1} << 62) v = uint64_t{1} << 30;
      std::memcpy(&bytes_[field.position], &v, field.width);  // little-endian low bytes
      parse(bytes_, "value " + std::to_string(v) + " at " + std::to_string(field.position));
    }
    std::memcpy(&bytes_[field.position], saved, field.width);
  }

  // True when the mutant parsed; records a test failure for any unexpected outcome.
  bool parse(std::span<const uint8_t> bytes, const std::string& mutation) {
    try {
      const File file = File::parse(bytes, name_);
      check_accepted(file);
      ++accepted_;
      return true;
    } catch (const Error& e) {
      ++rejected_;
      const bool expected_kind =
          e.kind() == ErrorKind::corrupt_file || e.kind() == ErrorKind::unsupported;
      if (!expected_kind || !std::string_view(e.what()).starts_with(name_ + ": "))
        report(mutation, "Error(" + std::string(error_kind_name(e.kind())) + "): " + e.what());
    } catch (const std::exception& e) {
      report(mutation, std::string("std::exception: ") + e.what());
    } catch (...) {
      report(mutation, "a non-standard exception");
    }
    return false;
  }

  // What the reader promises about a file it accepts: its pieces are inside the bytes, and the
  // writer can write it back into a file that reads the same.
  void check_accepted(const File& file) {
    EXPECT_EQ(file.data_offset() % file.alignment(), 0u);
    for (const TensorInfo& t : file.tensors()) EXPECT_EQ(file.tensor_data(t).size(), t.n_bytes);
    if (file.file_size() > 64 * 1024) return;  // keep the budget for parsing
    const std::vector<uint8_t> again = Writer::copy_of(file).to_bytes();
    const File reread = File::parse(again, name_);
    EXPECT_EQ(reread.metadata().size(), file.metadata().size());
    EXPECT_EQ(reread.tensors().size(), file.tensors().size());
  }

  void report(const std::string& mutation, const std::string& outcome) {
    if (++failures_ <= 10) ADD_FAILURE() << name_ << ", " << mutation << ": " << outcome;
  }

  std::string name_;
  std::vector<uint8_t> bytes_;
  std::mt19937_64 rng_;
  uint64_t header_size_ = 0;
  std::vector<Field> fields_;
  int accepted_ = 0;
  int rejected_ = 0;
  int failures_ = 0;
};

std::vector<uint8_t> bytes_of(const fs::path& path) {
  const std::string s = ::hearth::test::read_file(path);
  return {s.begin(), s.end()};
}

void report_totals(const char* what, int accepted, int rejected,
                   std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s: %d mutants (%d accepted, %d rejected) in %.2f s\n", what, accepted + rejected,
              accepted, rejected, seconds);
  EXPECT_GT(rejected, 0);  // the mutations must reach the checks
}

TEST(GgufMutation, HandBuiltFiles) {
  const auto start = std::chrono::steady_clock::now();
  int accepted = 0, rejected = 0;
  const std::pair<const char*, test::SampleOptions> samples[] = {
      {"sample-v3.gguf", {}},
      {"sample-v2-align64.gguf", {.version = 2, .alignment = 64}},
      {"sample-no-tensors.gguf", {.tensors = false}},
  };
  for (const auto& [name, options] : samples) {
    MutationRun run(name, test::sample_gguf(options));
    run.exhaustive();
    accepted += run.accepted();
    rejected += run.rejected();
  }
  report_totals("hand-built", accepted, rejected, start);
}

void mutate_folder(const fs::path& folder, const char* what) {
  const auto start = std::chrono::steady_clock::now();
  int accepted = 0, rejected = 0, files = 0;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(folder))
    if (entry.path().extension() == ".gguf") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    MutationRun run(path.filename().string(), bytes_of(path));
    run.within_budget(kBudgetBytes);
    accepted += run.accepted();
    rejected += run.rejected();
    ++files;
  }
  EXPECT_GT(files, 0);
  report_totals(what, accepted, rejected, start);
}

TEST(GgufMutation, ConformanceModels) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  mutate_folder(dir / "models", "models");
}

TEST(GgufMutation, ConformanceVocabularies) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  mutate_folder(dir / "tokenizer", "vocabularies");
}

}  // namespace
}  // namespace hearth::gguf
