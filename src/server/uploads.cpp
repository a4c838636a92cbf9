// Uploaded files: ids, places and the streaming writer (uploads.h).
#include "server/uploads.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "db/training.h"

namespace hearth::server {
namespace {

constexpr std::string_view id_prefix = "file-";

std::string random_hex(std::size_t bytes) {
  std::array<unsigned char, 32> raw{};
  if (bytes > raw.size() || RAND_bytes(raw.data(), static_cast<int>(bytes)) != 1)
    throw Error(ErrorKind::internal, "no random bytes for an upload's name");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    out += digits[raw[i] >> 4];
    out += digits[raw[i] & 15];
  }
  return out;
}

Error io_error(const std::string& what, int error) {
  return Error(ErrorKind::io, what + ": " + std::strerror(error) + (error == ENOSPC ? " (disk full)" : ""));
}

void sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // the data itself is synced; some file systems refuse folders
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string file_public_id(std::int64_t id) { return std::string(id_prefix) + std::to_string(id); }

std::optional<std::int64_t> parse_file_id(std::string_view public_id) {
  if (public_id.substr(0, id_prefix.size()) != id_prefix) return std::nullopt;
  const std::string_view digits = public_id.substr(id_prefix.size());
  if (digits.empty() || digits.size() > 18 || digits.front() == '0') return std::nullopt;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return id;
}

std::filesystem::path uploads_folder(std::int64_t user_id) {
  return paths::uploads() / std::to_string(user_id);
}

std::filesystem::path uploaded_file_path(const db::Database& db, std::int64_t user_id,
                                         std::string_view public_id) {
  const auto missing = [&] {
    return Error(ErrorKind::not_found, "no file with id '" + std::string(public_id) + "'");
  };
  const auto id = parse_file_id(public_id);
  if (!id) throw missing();
  const auto row = db::UploadedFiles(db).find(user_id, *id);
  if (!row) throw missing();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(row->path, ec)) {
    SPDLOG_WARN("uploaded file {} of user {} is missing from disk", *id, user_id);
    throw missing();
  }
  return row->path;
}

UploadFile::UploadFile(std::int64_t user_id, const crypto::DataKey& key) {
  const std::filesystem::path folder = uploads_folder(user_id);
  paths::ensure_directory(folder);
  kept_ = folder / ("upload-" + random_hex(16));
  partial_ = kept_;
  partial_ += ".part";
  writer_ = std::make_unique<crypto::SealedWriter>(partial_, key);
}

UploadFile::~UploadFile() {
  if (!kept_done_) ::unlink(partial_.c_str());
}

void UploadFile::write(std::string_view bytes) {
  HEARTH_ASSERT(writer_ != nullptr, "UploadFile::write after sync");
  sha_.update(bytes);
  try {
    writer_->write(bytes);
  } catch (const Error& e) {
    throw Error(e.kind(), std::string(e.what()) + (errno == ENOSPC ? " (disk full)" : ""));
  }
  bytes_ += bytes.size();
}

std::string UploadFile::sync() {
  HEARTH_ASSERT(writer_ != nullptr, "UploadFile::sync twice");
  std::unique_ptr<crypto::SealedWriter> writer = std::move(writer_);
  writer->commit();  // sealed, synced and renamed to the ".part" name
  return sha_.finish_hex();
}

std::filesystem::path UploadFile::keep() {
  HEARTH_ASSERT(writer_ == nullptr && !kept_done_, "UploadFile::keep before sync, or twice");
  if (::rename(partial_.c_str(), kept_.c_str()) != 0)
    throw io_error(kept_.string() + ": cannot rename the upload into place", errno);
  kept_done_ = true;
  sync_folder(kept_.parent_path());
  return kept_;
}

}  // namespace hearth::server
