// See blob_upload.h.
#include "store/blob_upload.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cctype>

#include "core/error.h"
#include "core/paths.h"
#include "store/blob_stamp.h"
#include "store/file_util.h"

namespace hearth::store {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_io(const fs::path& path, const char* what, int error) {
  throw Error(ErrorKind::io, path.filename().string() + ": cannot " + what + ": " +
                                 errno_text(error) + (error == ENOSPC ? " (disk full)" : ""));
}

fs::path uploader_dir(const Store& store, std::string_view digest) {
  return store.home() / "blob-uploaders" / ("sha256-" + std::string(digest.substr(7)));
}

}  // namespace

std::string normalize_digest(std::string_view digest, std::string_view what) {
  auto bad = [&] {
    return Error(ErrorKind::invalid_input,
                 std::string(what) + " must be \"sha256:\" followed by 64 hex digits, not '" +
                     std::string(digest.substr(0, 80)) + "'");
  };
  if (digest.size() != 71 || !(digest.starts_with("sha256:") || digest.starts_with("sha256-")))
    throw bad();
  std::string out = "sha256:";
  for (char c : digest.substr(7)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) throw bad();
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool uploaded_by(const Store& store, std::string_view digest, std::int64_t user_id) {
  std::error_code ec;
  return fs::is_regular_file(store.blob_path(digest), ec) &&
         fs::exists(uploader_dir(store, digest) / std::to_string(user_id), ec);
}

BlobUpload::BlobUpload(const Store& store, std::string digest)
    : store_(store), digest_(std::move(digest)) {
  paths::ensure_directory(store_.blobs_dir());
  static std::atomic<unsigned> counter{0};
  partial_ = store_.blobs_dir() / ("upload-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(counter++) + ".tmp");
  fd_ = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_io(partial_, "create", errno);
}

BlobUpload::~BlobUpload() {
  if (fd_ >= 0) ::close(fd_);
  if (!partial_.empty()) ::unlink(partial_.c_str());
}

void BlobUpload::write(std::string_view bytes) {
  sha_.update(bytes);
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io(partial_, "write", errno);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::uint64_t BlobUpload::finish(std::int64_t user_id) {
  const std::string got = "sha256:" + sha_.finish_hex();
  if (got != digest_)
    throw Error(ErrorKind::invalid_input, "digest mismatch: the body's SHA-256 is " + got +
                                              ", the path named " + digest_ + "; nothing was kept");
  if (::fsync(fd_) != 0) throw_io(partial_, "sync", errno);
  ::close(fd_);
  fd_ = -1;
  const fs::path blob = store_.blob_path(digest_);
  std::error_code ec;
  if (fs::is_regular_file(blob, ec)) {
    ensure_blob_stamp(blob);  // the same bytes are there already: keep those
    ::unlink(partial_.c_str());
    partial_.clear();
  } else {
    if (::rename(partial_.c_str(), blob.c_str()) != 0) throw_io(blob, "move into place", errno);
    partial_.clear();
    record_blob_stamp(blob);
  }
  sync_directory(store_.blobs_dir());
  const fs::path owners = uploader_dir(store_, digest_);
  paths::ensure_directory(owners);
  write_file_atomically(owners / std::to_string(user_id), "");
  return bytes_;
}

BlobRef adopt_blob_file(const Store& store, const fs::path& file, std::string media_type) {
  const std::string digest = "sha256:" + sha256_file_hex(file);
  const fs::path blob = store.blob_path(digest);
  std::error_code ec;
  if (fs::is_regular_file(blob, ec)) {
    ::unlink(file.c_str());
    ensure_blob_stamp(blob);
  } else {
    if (::rename(file.c_str(), blob.c_str()) != 0) throw_io(blob, "move into place", errno);
    record_blob_stamp(blob);
  }
  sync_directory(store.blobs_dir());
  return {digest, fs::file_size(blob), std::move(media_type)};
}

}  // namespace hearth::store
