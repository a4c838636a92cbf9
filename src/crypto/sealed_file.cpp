#include "crypto/sealed_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace hearth::crypto {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t chunk_plain = 64 * 1024;
constexpr std::size_t header_size = 8 + key_id_size + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t chunk_overhead = crypto_secretstream_xchacha20poly1305_ABYTES;

std::string errno_text() {
  return std::strerror(errno);
}

// Writes everything or throws Error(io) naming the file and why (ENOSPC: "No space left").
void write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(ErrorKind::io, "cannot write " + path.string() + ": " + errno_text());
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

// Reads exactly `size` bytes; false at a clean end before the first byte.
bool read_exact(int fd, void* data, std::size_t size, const fs::path& path) {
  char* p = static_cast<char*>(data);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, p + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::io, "cannot read " + path.string() + ": " + errno_text());
    if (n == 0) {
      if (got == 0) return false;
      throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() + " is cut short");
    }
    got += static_cast<std::size_t>(n);
  }
  return true;
}

std::atomic<unsigned> temp_counter{0};

// Hidden (a leading '.'), so that listings of finished files never show one half written.
fs::path temp_beside(const fs::path& path) {
  return path.parent_path() / ("." + path.filename().string() + ".partial-" +
                               std::to_string(::getpid()) + "-" + std::to_string(temp_counter++));
}

void sync_folder(const fs::path& path) {
  const int dir = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

bool is_sealed_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char magic[8];
  const bool ok = ::read(fd, magic, sizeof magic) == static_cast<ssize_t>(sizeof magic) &&
                  std::memcmp(magic, file_magic.data(), sizeof magic) == 0;
  ::close(fd);
  return ok;
}

// ---- writing ---------------------------------------------------------------------------------

struct SealedWriter::State {
  fs::path path;
  fs::path temp;
  int fd = -1;
  crypto_secretstream_xchacha20poly1305_state stream{};
  std::string pending;  // plaintext not yet sealed (less than one chunk)
  bool committed = false;

  void seal_chunk(std::string_view plain, unsigned char tag) {
    std::vector<unsigned char> out(plain.size() + chunk_overhead + 4);
    unsigned long long length = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &stream, out.data() + 4, &length, reinterpret_cast<const unsigned char*>(plain.data()),
        plain.size(), nullptr, 0, tag);
    const auto n = static_cast<std::uint32_t>(length);
    for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
    write_all(fd, out.data(), length + 4, temp);
  }
};

SealedWriter::SealedWriter(const fs::path& path, const DataKey& key)
    : state_(std::make_unique<State>()) {
  ready();
  state_->path = path;
  state_->temp = temp_beside(path);
  state_->fd = ::open(state_->temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (state_->fd < 0)
    throw Error(ErrorKind::io, "cannot write " + path.string() + ": " + errno_text());
  unsigned char header[header_size];
  std::memcpy(header, file_magic.data(), 8);
  std::memcpy(header + 8, key.id.data(), key_id_size);
  crypto_secretstream_xchacha20poly1305_init_push(&state_->stream, header + 8 + key_id_size,
                                                  key.key.data());
  write_all(state_->fd, header, sizeof header, state_->temp);
}

SealedWriter::~SealedWriter() {
  if (!state_) return;
  if (state_->fd >= 0) ::close(state_->fd);
  if (!state_->committed) ::unlink(state_->temp.c_str());
  sodium_memzero(&state_->stream, sizeof state_->stream);
}

void SealedWriter::write(std::string_view bytes) {
  State& s = *state_;
  if (s.committed) throw Error(ErrorKind::internal, "writing to a committed sealed file");
  while (!bytes.empty()) {
    const std::size_t take = std::min(bytes.size(), chunk_plain - s.pending.size());
    s.pending.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (s.pending.size() == chunk_plain) {
      s.seal_chunk(s.pending, 0);
      s.pending.clear();
    }
  }
}

void SealedWriter::commit() {
  State& s = *state_;
  s.seal_chunk(s.pending, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  s.pending.clear();
  if (::fsync(s.fd) != 0)
    throw Error(ErrorKind::io, "cannot write " + s.path.string() + ": " + errno_text());
  ::close(s.fd);
  s.fd = -1;
  if (::rename(s.temp.c_str(), s.path.c_str()) != 0)
    throw Error(ErrorKind::io, "cannot write " + s.path.string() + ": " + errno_text());
  s.committed = true;
  sync_folder(s.path);
}

// ---- reading ---------------------------------------------------------------------------------

struct FileReader::State {
  fs::path path;
  int fd = -1;
  bool sealed = false;
  bool finished = false;
  crypto_secretstream_xchacha20poly1305_state stream{};
  std::string ready;  // opened bytes not yet handed out
  std::size_t ready_pos = 0;
  std::string first;  // a plain file's first bytes, read while looking for the magic

  void next_chunk() {
    unsigned char length_bytes[4];
    if (!read_exact(fd, length_bytes, 4, path))
      throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() +
                                               " is cut short (its last part is missing)");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(length_bytes[i]) << (8 * i);
    if (n < chunk_overhead || n > chunk_plain + chunk_overhead)
      throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() + " is damaged");
    std::vector<unsigned char> in(n);
    if (!read_exact(fd, in.data(), n, path))
      throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() + " is cut short");
    ready.assign(n - chunk_overhead, '\0');
    ready_pos = 0;
    unsigned long long length = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(
            &stream, reinterpret_cast<unsigned char*>(ready.data()), &length, &tag, in.data(), n,
            nullptr, 0) != 0)
      throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() +
                                               " does not open: the key is wrong or the file "
                                               "was changed");
    ready.resize(length);
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      finished = true;
      char extra;
      if (::read(fd, &extra, 1) != 0)
        throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() +
                                                 " has data after its end");
    }
  }
};

FileReader::FileReader(const fs::path& path) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (s.fd < 0) {
    if (errno == ENOENT) throw Error(ErrorKind::not_found, "no file " + path.string());
    throw Error(ErrorKind::io, "cannot open " + path.string() + ": " + errno_text());
  }
  unsigned char header[header_size];
  std::size_t got = 0;
  while (got < sizeof header) {
    const ssize_t n = ::read(s.fd, header + got, sizeof header - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::io, "cannot read " + path.string() + ": " + errno_text());
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got < 8 || std::memcmp(header, file_magic.data(), 8) != 0) {
    s.first.assign(reinterpret_cast<const char*>(header), got);
    return;
  }
  if (got < sizeof header)
    throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() + " is cut short");
  s.sealed = true;
  KeyId id{};
  std::memcpy(id.data(), header + 8, key_id_size);
  const Key key = find_key(id);
  if (crypto_secretstream_xchacha20poly1305_init_pull(&s.stream, header + 8 + key_id_size,
                                                      key.data()) != 0)
    throw Error(ErrorKind::corrupt_file, "the encrypted file " + path.string() + " is damaged");
}

FileReader::~FileReader() {
  if (!state_) return;
  if (state_->fd >= 0) ::close(state_->fd);
  sodium_memzero(&state_->stream, sizeof state_->stream);
}

bool FileReader::sealed() const {
  return state_->sealed;
}

std::size_t FileReader::read(char* out, std::size_t size) {
  State& s = *state_;
  if (!s.sealed) {
    if (s.ready_pos < s.first.size()) {
      const std::size_t n = std::min(size, s.first.size() - s.ready_pos);
      std::memcpy(out, s.first.data() + s.ready_pos, n);
      s.ready_pos += n;
      return n;
    }
    for (;;) {
      const ssize_t n = ::read(s.fd, out, size);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorKind::io, "cannot read " + s.path.string() + ": " + errno_text());
      return static_cast<std::size_t>(n);
    }
  }
  while (s.ready_pos == s.ready.size()) {
    if (s.finished) return 0;
    s.next_chunk();
  }
  const std::size_t n = std::min(size, s.ready.size() - s.ready_pos);
  std::memcpy(out, s.ready.data() + s.ready_pos, n);
  s.ready_pos += n;
  return n;
}

std::string FileReader::read_all() {
  std::string out;
  std::vector<char> buffer(chunk_plain);
  while (std::size_t n = read(buffer.data(), buffer.size())) out.append(buffer.data(), n);
  return out;
}

std::string read_file(const fs::path& path) {
  return FileReader(path).read_all();
}

void write_sealed_file(const fs::path& path, std::string_view contents, const DataKey& key) {
  SealedWriter out(path, key);
  out.write(contents);
  out.commit();
}

bool seal_file_in_place(const fs::path& path, const DataKey& key) {
  FileReader in(path);
  if (in.sealed()) return false;
  SealedWriter out(path, key);
  std::vector<char> buffer(chunk_plain);
  while (std::size_t n = in.read(buffer.data(), buffer.size())) out.write({buffer.data(), n});
  out.commit();
  return true;
}

void write_plain_copy(const fs::path& from, const fs::path& to) {
  FileReader in(from);
  const fs::path temp = temp_beside(to);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ErrorKind::io, "cannot write " + to.string() + ": " + errno_text());
  try {
    std::vector<char> buffer(chunk_plain);
    while (std::size_t n = in.read(buffer.data(), buffer.size())) write_all(fd, buffer.data(), n, to);
    if (::fsync(fd) != 0)
      throw Error(ErrorKind::io, "cannot write " + to.string() + ": " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), to.c_str()) != 0) {
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot write " + to.string() + ": " + errno_text());
  }
  sync_folder(to);
}

}  // namespace hearth::crypto
