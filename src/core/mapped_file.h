// Read-only memory mapping of a whole file. Model weights are used straight from the mapping, so
// many sequences and processes share one copy in the page cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace hearth {

class MappedFile {
 public:
  // Errors: io when the file cannot be opened, is not a regular file, or cannot be mapped.
  // An empty file maps to an empty span.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace hearth
