#include "store/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "core/error.h"

namespace hearth::store {

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  // The temporary name is unique per process and call, so concurrent writers never share one.
  static std::atomic<unsigned> counter{0};
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto fail = [&](const char* what) {
    int error = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::io, path.string() + ": cannot " + what + ": " + errno_text(error) +
                                   (error == ENOSPC ? " (disk full)" : ""));
  };
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) fail("create a temporary file");
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write");
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail("sync");
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename the temporary file");
  sync_directory(path.parent_path());
}

std::string read_small_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw Error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                path.string() + ": cannot open: " + errno_text(errno));
  std::string out;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::io, path.string() + ": cannot read: " + errno_text(errno));
    if (n == 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

void sync_directory(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

}  // namespace hearth::store
