// The GGUF writer: the layout the reader expects, with zero padding and tensors in insertion order.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "crypto/sealed_file.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/gguf_format.h"

namespace hearth::gguf {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::invalid_input, "GGUF writer: " + message);
}

class ByteSink {
 public:
  template <typename T>
  void scalar(T v) {
    // resize + memcpy rather than insert: GCC 12 at -O3 misreads insert into an empty vector as
    // an overflow (-Wstringop-overflow).
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void string(std::string_view s) {
    scalar<uint64_t>(s.size());
    out_.insert(out_.end(), s.begin(), s.end());
  }
  void bytes(std::span<const uint8_t> data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void pad_to(uint32_t alignment) { out_.resize(*format::align_up(out_.size(), alignment), 0); }
  std::vector<uint8_t>& out() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

void check_unsigned(const std::string& key, uint64_t v, uint64_t max, ValueType type) {
  if (v > max)
    invalid("metadata key '" + key + "': " + std::to_string(v) + " does not fit " +
            std::string(value_type_name(type)));
}

void check_signed(const std::string& key, int64_t v, int64_t min, int64_t max, ValueType type) {
  if (v < min || v > max)
    invalid("metadata key '" + key + "': " + std::to_string(v) + " does not fit " +
            std::string(value_type_name(type)));
}

void write_value(ByteSink& sink, const std::string& key, const Value& v, int depth) {
  switch (v.type) {
    case ValueType::u8:
      check_unsigned(key, v.u, 0xFF, v.type);
      sink.scalar<uint8_t>(static_cast<uint8_t>(v.u));
      break;
    case ValueType::i8:
      check_signed(key, v.i, INT8_MIN, INT8_MAX, v.type);
      sink.scalar<int8_t>(static_cast<int8_t>(v.i));
      break;
    case ValueType::u16:
      check_unsigned(key, v.u, 0xFFFF, v.type);
      sink.scalar<uint16_t>(static_cast<uint16_t>(v.u));
      break;
    case ValueType::i16:
      check_signed(key, v.i, INT16_MIN, INT16_MAX, v.type);
      sink.scalar<int16_t>(static_cast<int16_t>(v.i));
      break;
    case ValueType::u32:
      check_unsigned(key, v.u, 0xFFFFFFFF, v.type);
      sink.scalar<uint32_t>(static_cast<uint32_t>(v.u));
      break;
    case ValueType::i32:
      check_signed(key, v.i, INT32_MIN, INT32_MAX, v.type);
      sink.scalar<int32_t>(static_cast<int32_t>(v.i));
      break;
    case ValueType::u64:
      sink.scalar<uint64_t>(v.u);
      break;
    case ValueType::i64:
      sink.scalar<int64_t>(v.i);
      break;
    case ValueType::f32:
      sink.scalar<float>(static_cast<float>(v.f));
      break;
    case ValueType::f64:
      sink.scalar<double>(v.f);
      break;
    case ValueType::boolean:
      check_unsigned(key, v.u, 1, v.type);
      sink.scalar<uint8_t>(static_cast<uint8_t>(v.u));
      break;
    case ValueType::string:
      sink.string(v.s);
      break;
    case ValueType::array:
      if (depth >= format::kMaxArrayDepth)
        invalid("metadata key '" + key + "': arrays nested deeper than " +
                std::to_string(format::kMaxArrayDepth) + " levels");
      sink.scalar<uint32_t>(static_cast<uint32_t>(v.element_type));
      sink.scalar<uint64_t>(v.items.size());
      for (const Value& item : v.items) {
        if (item.type != v.element_type)
          invalid("metadata key '" + key + "': array of " +
                  std::string(value_type_name(v.element_type)) + " holds a " +
                  std::string(value_type_name(item.type)));
        write_value(sink, key, item, depth + 1);
      }
      break;
    default:
      invalid("metadata key '" + key + "': unknown value type");
  }
}

}  // namespace

void Writer::set(std::string key, Value value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(std::move(key), std::move(value));
}

void Writer::add_tensor(std::string name, TensorType type, std::vector<int64_t> ne,
                        std::span<const uint8_t> data) {
  if (name.empty() || !format::is_valid_utf8(name))
    invalid("tensor name " + format::quoted(name) + " is empty or not UTF-8");
  for (const auto& t : tensors_)
    if (t.info.name == name) invalid("tensor '" + name + "' is added twice");
  const uint64_t n_bytes = tensor_bytes(type, ne);
  if (n_bytes != data.size())
    invalid("tensor '" + name + "' has " + std::to_string(data.size()) + " bytes of data but its " +
            "type and shape need " + std::to_string(n_bytes));
  PendingTensor t;
  t.info.name = std::move(name);
  t.info.type = type;
  t.info.ne = std::move(ne);
  t.info.n_bytes = n_bytes;
  t.data = data;
  tensors_.push_back(std::move(t));
}

Writer Writer::copy_of(const File& file) {
  Writer w(file.version());
  for (const auto& [key, value] : file.metadata()) w.metadata_.emplace_back(key, value);
  for (const TensorInfo& t : file.tensors()) {
    PendingTensor pending;
    pending.info = t;
    pending.data = file.tensor_data(t);
    w.tensors_.push_back(std::move(pending));
  }
  w.pad_empty_data_section_ = !(file.tensors().empty() && file.file_size() == file.header_size());
  return w;
}

std::vector<uint8_t> Writer::to_bytes() const {
  if (version_ != 2 && version_ != 3)
    invalid("cannot write GGUF version " + std::to_string(version_) + " (only 2 and 3)");
  uint32_t alignment = format::kDefaultAlignment;
  for (const auto& [key, value] : metadata_) {
    if (key.empty() || !format::is_valid_utf8(key))
      invalid("metadata key " + format::quoted(key) + " is empty or not UTF-8");
    if (key != format::kAlignmentKey) continue;
    if (value.type != ValueType::u32 || !format::is_power_of_two(value.u) || value.u > 0xFFFFFFFF)
      invalid("general.alignment must be a u32 power of two");
    alignment = static_cast<uint32_t>(value.u);
  }

  ByteSink sink;
  sink.scalar<uint32_t>(format::kMagic);
  sink.scalar<uint32_t>(version_);
  sink.scalar<uint64_t>(tensors_.size());
  sink.scalar<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    sink.string(key);
    sink.scalar<uint32_t>(static_cast<uint32_t>(value.type));
    write_value(sink, key, value, 0);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    sink.string(t.info.name);
    sink.scalar<uint32_t>(static_cast<uint32_t>(t.info.ne.size()));
    for (int64_t d : t.info.ne) sink.scalar<uint64_t>(static_cast<uint64_t>(d));
    sink.scalar<uint32_t>(static_cast<uint32_t>(t.info.type));
    sink.scalar<uint64_t>(offset);
    offset = *format::align_up(offset + t.info.n_bytes, alignment);
  }
  if (!tensors_.empty() || pad_empty_data_section_) sink.pad_to(alignment);
  for (const PendingTensor& t : tensors_) {
    sink.bytes(t.data);
    sink.pad_to(alignment);
  }
  return std::move(sink.out());
}

namespace {

[[noreturn]] void io_error(const std::filesystem::path& path, std::string_view what) {
  throw Error(ErrorKind::io,
              path.string() + ": cannot " + std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

void Writer::write(const std::filesystem::path& path, const crypto::DataKey* seal) const {
  const std::vector<uint8_t> bytes = to_bytes();
  if (seal) {
    crypto::write_sealed_file(
        path, {reinterpret_cast<const char*>(bytes.data()), bytes.size()}, *seal);
    return;
  }
  std::filesystem::path temp = path;
  temp += ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_error(temp, "create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      errno = saved;
      io_error(temp, "write");
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    io_error(temp, "flush");
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    io_error(path, "rename the temporary file onto");
  }
  // The rename itself is durable only once the folder is synced.
  auto folder = path.parent_path();
  const int dir = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace hearth::gguf
