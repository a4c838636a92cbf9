// Runs one pull in its own process, for the store tests that kill a download (kill -9) or give
// it a full disk. Usage:
//   store_pull_helper HOME URL DIGEST NAME [--parts N] [--min-part BYTES]
//                     [--tmpfs-bytes N]
// With --tmpfs-bytes, HOME becomes a tmpfs of that size in a private mount namespace first
// (exit 77 when this machine does not allow it). Prints "ok <digest>" or
// "error <kind> <message>", then "file <name> <size>" for each file under HOME/blobs.
#include <sched.h>
#include <sys/mount.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/error.h"
#include "store/store.h"

int main(int argc, char** argv) {
  using namespace hearth;
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s HOME URL DIGEST NAME [options]\n", argv[0]);
    return 2;
  }
  std::filesystem::path home = argv[1];
  store::DownloadOptions options;
  options.min_part_size = 256 << 10;
  options.state_flush_interval = std::chrono::milliseconds(50);
  options.retry_delay = std::chrono::milliseconds(20);
  for (int i = 5; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    unsigned long long value = std::stoull(argv[i + 1]);
    if (flag == "--parts") {
      options.parts = static_cast<int>(value);
    } else if (flag == "--min-part") {
      options.min_part_size = value;
    } else if (flag == "--tmpfs-bytes") {
      std::string size = "size=" + std::to_string(value);
      std::filesystem::create_directories(home);
      if (::unshare(CLONE_NEWNS) != 0 ||
          ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::mount("tmpfs", home.c_str(), "tmpfs", 0, size.c_str()) != 0) {
        std::printf("skip cannot mount a tmpfs here: %s\n", std::strerror(errno));
        return 77;
      }
    }
  }
  int code = 0;
  try {
    store::Store store(home, options);
    store::PullRequest request;
    request.url = argv[2];
    request.expected_digest = argv[3];
    request.name = argv[4];
    auto manifest = store.pull(request);
    std::printf("ok %s\n", manifest ? manifest->blobs.at(0).digest.c_str() : "cancelled");
  } catch (const Error& e) {
    std::printf("error %s %s\n", std::string(error_kind_name(e.kind())).c_str(), e.what());
    code = 1;
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(home / "blobs", ec))
    std::printf("file %s %llu\n", entry.path().filename().c_str(),
                static_cast<unsigned long long>(entry.file_size(ec)));
  return code;
}
