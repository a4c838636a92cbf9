// The state file of a partial download (format documented in store/download.h). Internal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hearth::store {

inline constexpr int kDownloadStateSchema = 1;

struct PartState {
  uint64_t start = 0;
  uint64_t end = 0;   // exclusive
  uint64_t done = 0;  // bytes from start already on disk
};

struct DownloadState {
  std::string url;
  int64_t size = -1;  // -1: the server did not say
  std::string etag;
  std::string last_modified;
  bool ranged = false;
  std::vector<PartState> parts;
};

// nullopt when the file is missing or unreadable; a damaged state only costs a restart, so it
// is logged and ignored rather than reported as an error.
std::optional<DownloadState> load_download_state(const std::filesystem::path& path);
// Atomic (temp + fsync + rename); Error(io) on failure.
void save_download_state(const std::filesystem::path& path, const DownloadState& state);

// Splits [0, size) into at most `max_parts` ranges of at least `min_part_size` (the last range
// takes the remainder).
std::vector<PartState> split_into_parts(uint64_t size, int max_parts, uint64_t min_part_size);

}  // namespace hearth::store
