// The end of a download: hashing the finished file, checking the digest, moving it into place.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/error.h"
#include "core/sha256.h"
#include "store/blob_stamp.h"
#include "store/download_job.h"

namespace hearth::store {

void throw_write_error(int error, const std::filesystem::path& partial, const std::string& url) {
  if (error == ENOSPC || error == EDQUOT)
    throw Error(ErrorKind::io, "disk full: cannot write " + partial.string() +
                                   " while downloading " + url +
                                   "; the partial download is kept and resumes when you " +
                                   "pull again after freeing space");
  throw Error(ErrorKind::io, partial.string() + ": cannot write: " + errno_text(error) +
                                 "; the partial download is kept and resumes when you pull again");
}

std::string DownloadJob::hash_partial(int fd, uint64_t size) {
  rate_samples_.clear();
  Sha256 hash;
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t offset = 0;
  auto next_report = std::chrono::steady_clock::now();
  while (offset < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw Error(ErrorKind::io, partial_.string() + ": cannot read back for verification: " +
                                     (n < 0 ? errno_text(errno) : "file shorter than expected"));
    hash.update(std::span(buffer.data(), static_cast<size_t>(n)));
    offset += static_cast<uint64_t>(n);
    if (std::chrono::steady_clock::now() >= next_report) {
      report(Progress::Phase::verifying, offset, size);
      next_report = std::chrono::steady_clock::now() + options_.progress_interval;
    }
  }
  return hash.finish_hex();
}

DownloadResult DownloadJob::install(UniqueFd fd, const std::string& digest, uint64_t size) {
  if (!expected_hex_.empty() && digest != expected_hex_) {
    fd.reset();
    ::unlink(partial_.c_str());
    ::unlink(state_path_.c_str());
    throw Error(ErrorKind::corrupt_file, url_ + ": the download is corrupt: expected sha256:" +
                                             expected_hex_ + ", got sha256:" + digest +
                                             "; the partial file was deleted, pull again to retry");
  }
  if (::fsync(fd.get()) != 0) throw_write_error(errno, partial_, url_);
  fd.reset();
  std::filesystem::path blob = blobs_ / ("sha256-" + digest);
  std::error_code ec;
  if (std::filesystem::exists(blob, ec)) {
    ::unlink(partial_.c_str());  // another download (keyed by URL) brought the same content
    ensure_blob_stamp(blob);
  } else if (::rename(partial_.c_str(), blob.c_str()) != 0) {
    throw Error(ErrorKind::io,
                blob.string() + ": cannot move the download into place: " + errno_text(errno));
  } else {
    record_blob_stamp(blob);  // what was just hashed: the size and mtime to check at load
  }
  sync_directory(blobs_);
  ::unlink(state_path_.c_str());
  report(Progress::Phase::done, size, size);
  DownloadResult result;
  result.digest = "sha256:" + digest;
  result.size = size;
  result.blob_path = blob;
  return result;
}

}  // namespace hearth::store
