#include "cli/home_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/paths.h"

namespace hearth::cli {

HomeLock::HomeLock(const std::filesystem::path& home, Mode mode) {
  paths::ensure_directory(home);
  const std::filesystem::path file = home / kFileName;
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw Error(ErrorKind::io, file.string() + ": cannot open: " + std::strerror(errno));
  const int how = (mode == Mode::serving ? LOCK_SH : LOCK_EX) | LOCK_NB;
  int rc;
  while ((rc = ::flock(fd_, how)) != 0 && errno == EINTR) {
  }
  if (rc == 0) return;
  const int error = errno;
  ::close(fd_);
  fd_ = -1;
  if (error != EWOULDBLOCK)
    throw Error(ErrorKind::io, file.string() + ": cannot lock: " + std::strerror(error));
  if (mode == Mode::serving)
    throw Error(ErrorKind::conflict, "a restore into " + home.string() +
                                         " is under way: start the server once it has finished");
  throw Error(ErrorKind::conflict, "a hearth server is running on " + home.string() +
                                       ": stop it (Ctrl-C or SIGTERM) before restoring into it");
}

HomeLock::~HomeLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace hearth::cli
