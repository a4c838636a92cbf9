// HEARTH_HOME/serve.lock: how a running server marks the home it serves from, so that
// `hearth restore` never replaces files (or the database) under a live server.
//   `hearth serve` (and `hearth agent --serve`) hold a shared flock for as long as they run;
//   several servers may share a home. `hearth restore` takes the exclusive lock without waiting:
//   it fails while any server runs, and a server started during a restore refuses to start.
// flock locks end with the process, so a killed server leaves no stale lock behind.
#pragma once

#include <filesystem>

namespace hearth::cli {

class HomeLock {
 public:
  enum class Mode { serving, restoring };
  // Error(conflict) naming what holds it when it is taken the other way.
  HomeLock(const std::filesystem::path& home, Mode mode);
  ~HomeLock();
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;

  static constexpr const char* kFileName = "serve.lock";

 private:
  int fd_ = -1;
};

}  // namespace hearth::cli
