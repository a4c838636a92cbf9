// Store::import_file: an existing GGUF file becomes a blob (a copy of its own) and a manifest.
//
// Never a hard link: the blob would be the user's file, and editing that file later would change
// the installed model behind its digest. A reflink (FICLONE) shares the blocks copy-on-write
// where the file system offers it (btrfs, XFS), so the copy is instant and still independent;
// elsewhere the bytes are copied. Either way the digest is computed from the blob's own bytes.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "core/error.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "store/blob_stamp.h"
#include "store/file_util.h"
#include "store/store.h"

namespace hearth::store {
namespace {

[[noreturn]] void throw_io(const std::filesystem::path& path, const char* what, int error) {
  throw Error(ErrorKind::io, path.string() + ": cannot " + what + ": " + errno_text(error) +
                                 (error == ENOSPC ? " (disk full)" : ""));
}

// Copies `from` into a new file `to` (a reflink when possible) and returns the hex digest of what
// `to` holds.
std::string copy_and_hash(const std::filesystem::path& from, const std::filesystem::path& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_io(from, "open", errno);
  UniqueFd out(::open(to.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) throw_io(to, "create", errno);
  if (::ioctl(out.get(), FICLONE, in.get()) == 0) {
    if (::fsync(out.get()) != 0) throw_io(to, "sync", errno);
    return sha256_file_hex(to);  // read back from the clone itself
  }
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  for (;;) {
    ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io(from, "read", errno);
    if (n == 0) break;
    hash.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    for (ssize_t written = 0; written < n;) {
      ssize_t w = ::write(out.get(), buffer.data() + written, static_cast<size_t>(n - written));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_io(to, "write", errno);
      written += w;
    }
  }
  if (::fsync(out.get()) != 0) throw_io(to, "sync", errno);
  return hash.finish_hex();
}

}  // namespace

Manifest Store::import_file(const std::filesystem::path& file, std::string_view ref) {
  ModelName name = parse_model_name(ref);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw Error(ErrorKind::not_found, file.string() + ": no such file");
  {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_io(file, "open", errno);
    char magic[4] = {};
    if (::read(fd.get(), magic, 4) != 4 || std::string_view(magic, 4) != "GGUF")
      throw Error(ErrorKind::invalid_input, file.string() + ": not a GGUF file (no GGUF magic)");
  }
  paths::ensure_directory(blobs_);
  static std::atomic<unsigned> counter{0};
  auto tmp =
      blobs_ / ("import-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp");
  std::string hex;
  try {
    hex = copy_and_hash(file, tmp);
    auto blob = blobs_ / ("sha256-" + hex);
    if (std::filesystem::exists(blob, ec)) {
      ::unlink(tmp.c_str());
      ensure_blob_stamp(blob);
    } else if (::rename(tmp.c_str(), blob.c_str()) != 0) {
      throw_io(blob, "move into place", errno);
    } else {
      record_blob_stamp(blob);
    }
    sync_directory(blobs_);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  Manifest m;
  m.name = name.name;
  m.tag = name.tag.empty() ? "latest" : name.tag;
  m.blobs.push_back({"sha256:" + hex, std::filesystem::file_size(blob_path(hex)), "model"});
  m.source = std::filesystem::absolute(file).lexically_normal().string();
  write(m);
  return *find(m.full_name());
}

}  // namespace hearth::store
