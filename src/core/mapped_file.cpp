#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "core/error.h"

namespace hearth {

namespace {

// MemAvailable of /proc/meminfo in bytes, 0 when unknown.
size_t memory_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

// Reads the file into a fresh anonymous mapping of `len` bytes (huge pages requested) and makes
// it read-only; null when the memory is not there. Read errors throw.
const uint8_t* read_resident(int fd, size_t size, size_t len, const std::filesystem::path& path) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  ::madvise(p, len, MADV_HUGEPAGE);  // a kernel without THP just keeps small pages
  auto* out = static_cast<char*>(p);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out + done, std::min(size - done, size_t{64} << 20),
                              static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : 0;
      ::munmap(p, len);
      throw Error(ErrorKind::io, path.string() + ": cannot read: " +
                                     (err != 0 ? std::strerror(err) : "the file ended early"));
    }
    done += static_cast<size_t>(n);
  }
  ::mprotect(p, len, PROT_READ);
  return static_cast<const uint8_t*>(p);
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path, Residency residency) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw Error(err == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                path.string() + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::io, path.string() + ": not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (residency == Residency::automatic)
    residency = size_ <= memory_available() / 2 ? Residency::resident : Residency::mapped;
  if (size_ > 0 && residency == Residency::resident) {
    const size_t huge = size_t{2} << 20;
    const size_t len = (size_ + huge - 1) / huge * huge;
    try {
      data_ = read_resident(fd, size_, len, path);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (data_ != nullptr) resident_len_ = len;
  }
  if (size_ > 0 && data_ == nullptr) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorKind::io, path.string() + ": cannot map: " + std::strerror(err));
    }
    data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr)
    ::munmap(const_cast<uint8_t*>(data_), resident_len_ != 0 ? resident_len_ : size_);
}

}  // namespace hearth
