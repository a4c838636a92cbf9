#include "engine/quantize/stream_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace hearth::quantize {
namespace {

constexpr size_t kBufferSize = size_t{8} << 20;

[[noreturn]] void io_error(const std::filesystem::path& path, std::string_view what) {
  throw Error(ErrorKind::io,
              path.string() + ": cannot " + std::string(what) + ": " + std::strerror(errno));
}

uint64_t align_up(uint64_t v, uint32_t a) { return (v + a - 1) / a * a; }

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

struct Header {
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> sizes;
  uint32_t alignment = 32;
  uint64_t total = 0;
};

// Serializes the header: gguf::Writer writes (and validates) the metadata — a file without tensors
// and without the trailing padding is exactly magic, version, counts and the key/value pairs —
// then the tensor count is patched and the tensor infos appended.
Header make_header(const std::vector<std::pair<std::string, gguf::Value>>& metadata,
                   const std::vector<TensorSpec>& tensors, uint32_t version) {
  Header h;
  gguf::Writer meta(version);
  for (const auto& [key, value] : metadata) {
    meta.set(key, value);
    if (key == "general.alignment" && value.type == gguf::ValueType::u32)
      h.alignment = static_cast<uint32_t>(value.u);
  }
  meta.set_pad_empty_data_section(false);
  h.bytes = meta.to_bytes();
  const uint64_t n_tensors = tensors.size();
  std::memcpy(h.bytes.data() + 8, &n_tensors, sizeof n_tensors);  // after magic and version

  uint64_t offset = 0;
  for (const TensorSpec& t : tensors) {
    if (t.name.empty())
      throw Error(ErrorKind::invalid_input, "GGUF writer: a tensor has an empty name");
    const uint64_t bytes = gguf::tensor_bytes(t.type, t.ne);
    h.sizes.push_back(bytes);
    put<uint64_t>(h.bytes, t.name.size());
    h.bytes.insert(h.bytes.end(), t.name.begin(), t.name.end());
    put<uint32_t>(h.bytes, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(h.bytes, static_cast<uint64_t>(d));
    put<uint32_t>(h.bytes, static_cast<uint32_t>(t.type));
    put<uint64_t>(h.bytes, offset);
    offset = align_up(offset + bytes, h.alignment);
  }
  h.bytes.resize(align_up(h.bytes.size(), h.alignment), 0);
  h.total = h.bytes.size() + offset;
  return h;
}

}  // namespace

uint64_t StreamWriter::planned_size(
    const std::vector<std::pair<std::string, gguf::Value>>& metadata,
    const std::vector<TensorSpec>& tensors, uint32_t version) {
  return make_header(metadata, tensors, version).total;
}

StreamWriter::StreamWriter(std::filesystem::path path,
                           const std::vector<std::pair<std::string, gguf::Value>>& metadata,
                           std::vector<TensorSpec> tensors, uint32_t version)
    : path_(std::move(path)), tensors_(std::move(tensors)) {
  Header header = make_header(metadata, tensors_, version);
  sizes_ = std::move(header.sizes);
  alignment_ = header.alignment;
  total_size_ = header.total;
  temp_ = path_;
  temp_ += ".tmp-" + std::to_string(::getpid());
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) io_error(temp_, "create");
  buffer_.reserve(kBufferSize);
  write_raw(header.bytes.data(), header.bytes.size());
  while (current_ < tensors_.size() && sizes_[current_] == 0) ++current_;
}

StreamWriter::~StreamWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void StreamWriter::write_raw(const uint8_t* data, size_t n) {
  position_ += n;
  if (buffer_.size() + n > kBufferSize) flush();
  if (n >= kBufferSize) {
    size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd_, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) io_error(temp_, "write");
      done += static_cast<size_t>(w);
    }
    return;
  }
  buffer_.insert(buffer_.end(), data, data + n);
}

void StreamWriter::flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t w = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) io_error(temp_, "write");
    done += static_cast<size_t>(w);
  }
  buffer_.clear();
}

void StreamWriter::pad_current() {
  static const uint8_t kZeros[64] = {};
  uint64_t pad = align_up(position_, alignment_) - position_;
  while (pad > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(pad, sizeof kZeros));
    write_raw(kZeros, n);
    pad -= n;
  }
}

void StreamWriter::append(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;
  if (current_ >= tensors_.size())
    throw Error(ErrorKind::internal, "GGUF writer: data appended after the last tensor");
  if (written_in_current_ + bytes.size() > sizes_[current_])
    throw Error(ErrorKind::internal,
                "GGUF writer: too much data for tensor '" + tensors_[current_].name + "'");
  write_raw(bytes.data(), bytes.size());
  written_in_current_ += bytes.size();
  if (written_in_current_ == sizes_[current_]) {
    pad_current();
    written_in_current_ = 0;
    ++current_;
    while (current_ < tensors_.size() && sizes_[current_] == 0) ++current_;
  }
}

void StreamWriter::finish() {
  if (finished_) return;
  if (current_ != tensors_.size())
    throw Error(ErrorKind::internal,
                "GGUF writer: tensor '" + tensors_[current_].name + "' is incomplete");
  flush();
  if (::fsync(fd_) != 0) io_error(temp_, "flush");
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    ::unlink(temp_.c_str());
    io_error(temp_, "close");
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp_.c_str());
    errno = saved;
    io_error(path_, "rename the temporary file onto");
  }
  auto folder = path_.parent_path();
  const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  finished_ = true;
}

}  // namespace hearth::quantize
