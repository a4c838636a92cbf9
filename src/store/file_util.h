// Small POSIX file helpers the store shares (internal to the store module).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace hearth::store {

// strerror text for an errno value.
std::string errno_text(int error);

// A file descriptor closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes `content` to `path` atomically: a temporary file beside it, fsync, rename, fsync of
// the folder. Error(io) naming the path on failure (the old file stays as it was).
void write_file_atomically(const std::filesystem::path& path, std::string_view content);
// Reads a whole (small) file; Error(not_found / io).
std::string read_small_file(const std::filesystem::path& path);
// fsync of a folder, so that a rename inside it survives a crash. Failures are ignored (some
// file systems refuse it) — the data itself was already synced.
void sync_directory(const std::filesystem::path& dir);

}  // namespace hearth::store
