// A whole file, read-only in memory: mapped from the page cache (many processes share one copy),
// or read into the process's own memory on 2 MiB pages.
//
// Why the second way exists: model weights are streamed for every generated token, and on a
// machine with nested paging (a VM) a walk of 4 KiB page tables for each new page of weights
// costs as much as the arithmetic. Measured on a 2-core EPYC VM, 1B Q4_0: generation at 15-20
// tokens/s from the mapping of a file written in small pieces (as a download writes it), 26-38
// from a file written in large ones, 35-46 read into huge pages (bench/RESULTS.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace hearth {

class MappedFile {
 public:
  enum class Residency {
    mapped,     // the page cache's pages, mapped
    resident,   // read into anonymous memory (transparent huge pages requested), then read-only
    automatic,  // resident when the file is at most half of MemAvailable, else mapped
  };

  // Errors: io when the file cannot be opened, is not a regular file, cannot be mapped, or fails
  // or ends early while being read. An empty file maps to an empty span. A resident load that
  // cannot get the memory falls back to the mapping.
  explicit MappedFile(const std::filesystem::path& path, Residency residency = Residency::mapped);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Whether the bytes were read into the process's memory (Residency::resident taken).
  bool resident() const { return resident_len_ != 0; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t resident_len_ = 0;  // bytes of the anonymous mapping (size_ rounded up to 2 MiB)
};

}  // namespace hearth
