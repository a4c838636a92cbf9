// Blob stamps (see blob_stamp.h).
#include "store/blob_stamp.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <exception>
#include <string>

#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/paths.h"
#include "store/file_util.h"

namespace hearth::store {
namespace {

namespace json = boost::json;

bool is_blob_name(const std::string& name) {
  if (name.size() != 7 + 64 || name.rfind("sha256-", 0) != 0) return false;
  for (size_t i = 7; i < name.size(); ++i) {
    const char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::filesystem::path blob_stamp_path(const std::filesystem::path& blob) {
  return blob.parent_path().parent_path() / "blob-stamps" / blob.filename();
}

BlobStamp stat_blob(const std::filesystem::path& blob) {
  struct stat st {};
  if (::stat(blob.c_str(), &st) != 0)
    throw Error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                blob.string() + ": cannot stat: " + errno_text(errno));
  return BlobStamp{static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                       static_cast<int64_t>(st.st_mtim.tv_nsec)};
}

void record_blob_stamp(const std::filesystem::path& blob) {
  const BlobStamp now = stat_blob(blob);
  const auto path = blob_stamp_path(blob);
  paths::ensure_directory(path.parent_path());
  const json::object stamp{
      {"schema", kBlobStampSchema}, {"size", now.size}, {"mtime_ns", now.mtime_ns}};
  write_file_atomically(path, format_json(stamp) + "\n");
}

void ensure_blob_stamp(const std::filesystem::path& blob) {
  std::error_code ec;
  if (!std::filesystem::exists(blob_stamp_path(blob), ec)) record_blob_stamp(blob);
}

std::optional<BlobStamp> read_blob_stamp(const std::filesystem::path& blob) {
  const auto path = blob_stamp_path(blob);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  // What is not a stamp of this shape (not JSON, a member missing or of another type) is a
  // corrupt file. Only Boost.JSON throws inside the try (a missing member, a wrong type).
  const auto corrupt = [&](const std::string& what) {
    return Error(ErrorKind::corrupt_file, path.string() + ": unreadable blob stamp: " + what);
  };
  std::string error;
  const auto stamp = parse_json(read_small_file(path), &error);
  if (!stamp) throw corrupt(error);
  int schema = 0;
  BlobStamp installed;
  try {
    schema = stamp->at("schema").to_number<int>();
    if (schema <= kBlobStampSchema)
      installed = {stamp->at("size").to_number<uint64_t>(),
                   stamp->at("mtime_ns").to_number<int64_t>()};
  } catch (const boost::system::system_error& e) {
    throw corrupt(e.code().message());  // "not a number", without Boost's source location
  } catch (const std::exception& e) {
    throw corrupt(e.what());
  }
  if (schema > kBlobStampSchema)
    throw Error(ErrorKind::unsupported,
                path.string() + ": stamp schema " + std::to_string(schema) + "; update hearth");
  return installed;
}

void remove_blob_stamp(const std::filesystem::path& blob) {
  std::error_code ec;
  std::filesystem::remove(blob_stamp_path(blob), ec);
}

void check_blob_unchanged(const std::filesystem::path& blob, std::string_view model_name) {
  if (!is_blob_name(blob.filename().string())) return;
  const std::string name(model_name);
  const std::string advice =
      "; run `hearth pull --verify " + name + "` to check it, or remove it and pull it again";
  BlobStamp now;
  try {
    now = stat_blob(blob);
  } catch (const Error&) {
    throw Error(ErrorKind::corrupt_file, "model '" + name + "': its weights are missing" + advice);
  }
  const std::optional<BlobStamp> installed = read_blob_stamp(blob);
  if (!installed) {  // installed before stamps existed: from now on, changes are noticed
    try {
      record_blob_stamp(blob);
      spdlog::info("recorded the size and modification time of {}", name);
    } catch (const Error& e) {  // a read-only store still loads its models
      spdlog::warn("cannot record the size and modification time of {}: {}", name, e.what());
    }
    return;
  }
  if (now == *installed) return;
  const std::string what = now.size != installed->size
                               ? "size " + std::to_string(now.size) + " bytes, installed with " +
                                     std::to_string(installed->size)
                               : std::string("size unchanged, modification time changed");
  throw Error(
      ErrorKind::corrupt_file,
      "model '" + name + "' changed on disk since it was installed (" + what + ")" + advice);
}

}  // namespace hearth::store
