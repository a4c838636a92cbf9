// ustar reading and writing for backups (see backup_archive.h for the layout).
#include "cli/backup_archive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/sha256.h"

namespace hearth::cli::archive {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kChunk = 1 << 20;
using Block = std::array<char, kBlock>;

std::string errno_text() { return std::strerror(errno); }

// An octal field of `width` bytes ending in NUL; base-256 (GNU) when the value does not fit.
void put_number(char* field, std::size_t width, std::uint64_t value) {
  const std::uint64_t limit = width - 1 >= 22 ? UINT64_MAX : (std::uint64_t{1} << (3 * (width - 1)));
  if (value < limit) {
    field[width - 1] = '\0';
    for (std::size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
    return;
  }
  std::memset(field, 0, width);
  field[0] = static_cast<char>(0x80);
  for (std::size_t i = width; i-- > 1 && value != 0; value >>= 8)
    field[i] = static_cast<char>(value & 0xff);
}

bool get_number(const char* field, std::size_t width, std::uint64_t& out) {
  out = 0;
  if (static_cast<unsigned char>(field[0]) == 0x80) {
    for (std::size_t i = 1; i < width; ++i) {
      if (out >> 56) return false;
      out = (out << 8) | static_cast<unsigned char>(field[i]);
    }
    return true;
  }
  std::size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i, any = true) {
    if (out >> 60) return false;
    out = out * 8 + static_cast<unsigned>(field[i] - '0');
  }
  for (; i < width; ++i)
    if (field[i] != '\0' && field[i] != ' ') return false;
  return any;
}

unsigned checksum(const Block& b) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(b[i]);
  return sum;
}

std::string field_text(const char* field, std::size_t width) {
  return std::string(field, strnlen(field, width));
}

// Paths a backup may hold: the manifest, or relative paths under database/ or home/ without
// empty, "." or ".." components.
bool allowed_path(const std::string& name) {
  if (name == kManifestName) return true;
  if (!name.starts_with("database/") && !name.starts_with("home/")) return false;
  if (name.find('\0') != std::string::npos || name.back() == '/') return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

Writer::Writer(const std::filesystem::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw Error(ErrorKind::io, path.string() + ": cannot create: " + errno_text());
}

Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
}

void Writer::write(const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(ErrorKind::io, path_.string() + ": cannot write: " + errno_text());
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void Writer::pad(std::uint64_t size) {
  static const Block zeros{};
  if (const std::uint64_t rest = size % kBlock; rest != 0) write(zeros.data(), kBlock - rest);
}

void Writer::header(const std::string& name, std::uint64_t size, unsigned mode, std::int64_t mtime) {
  Block b{};
  std::string short_name = name, prefix;
  if (name.size() > 100) {
    // ustar's split at a '/': up to 155 bytes of prefix, 100 of name.
    const std::size_t cut = name.rfind('/', 155);
    if (cut != std::string::npos && cut > 0 && name.size() - cut - 1 <= 100 && name.size() - cut > 1) {
      prefix = name.substr(0, cut);
      short_name = name.substr(cut + 1);
    } else {
      // GNU's long-name entry: the whole path as the content of a 'L' entry before this one.
      Block l{};
      std::memcpy(l.data(), "././@LongLink", 13);
      put_number(&l[100], 8, 0644);
      put_number(&l[108], 8, 0);
      put_number(&l[116], 8, 0);
      put_number(&l[124], 12, name.size() + 1);
      put_number(&l[136], 12, 0);
      l[156] = 'L';
      std::memcpy(&l[257], "ustar", 6);
      std::memcpy(&l[263], "00", 2);
      put_number(&l[148], 7, checksum(l));
      l[155] = ' ';
      write(l.data(), kBlock);
      write(name.c_str(), name.size() + 1);
      pad(name.size() + 1);
      short_name = name.substr(0, 100);
    }
  }
  std::memcpy(b.data(), short_name.data(), std::min<std::size_t>(short_name.size(), 100));
  put_number(&b[100], 8, mode & 07777);
  put_number(&b[108], 8, 0);
  put_number(&b[116], 8, 0);
  put_number(&b[124], 12, size);
  put_number(&b[136], 12, static_cast<std::uint64_t>(mtime < 0 ? 0 : mtime));
  b[156] = '0';
  std::memcpy(&b[257], "ustar", 6);
  std::memcpy(&b[263], "00", 2);
  std::memcpy(&b[345], prefix.data(), std::min<std::size_t>(prefix.size(), 155));
  put_number(&b[148], 7, checksum(b));
  b[155] = ' ';
  write(b.data(), kBlock);
}

bool Writer::add_file(const std::string& name, const std::filesystem::path& source, Written& out) {
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) {
    if (errno == ENOENT) return false;
    throw Error(ErrorKind::io, source.string() + ": cannot read: " + errno_text());
  }
  struct stat st{};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    return false;
  }
  // The size now is the size recorded: a file that grows meanwhile (a log) is taken up to here.
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  header(name, size, st.st_mode & 0777, st.st_mtime);
  Sha256 hash;
  std::vector<char> buffer(kChunk);
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t n = ::read(in, buffer.data(), std::min<std::uint64_t>(left, buffer.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(in);
      throw Error(ErrorKind::io, source.string() + ": it shrank while being backed up (" +
                                     (n < 0 ? errno_text() : "ended early") + "); run the backup again");
    }
    hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    write(buffer.data(), static_cast<std::size_t>(n));
    left -= static_cast<std::uint64_t>(n);
  }
  ::close(in);
  pad(size);
  out = {size, hash.finish_hex()};
  return true;
}

Written Writer::add_bytes(const std::string& name, std::string_view bytes, unsigned mode) {
  header(name, bytes.size(), mode, ::time(nullptr));
  write(bytes.data(), bytes.size());
  pad(bytes.size());
  return {bytes.size(), sha256_hex(bytes)};
}

void Writer::finish() {
  static const Block zeros{};
  write(zeros.data(), kBlock);
  write(zeros.data(), kBlock);
  if (::fsync(fd_) != 0) throw Error(ErrorKind::io, path_.string() + ": fsync: " + errno_text());
  if (::close(fd_) != 0) throw Error(ErrorKind::io, path_.string() + ": close: " + errno_text());
  fd_ = -1;
}

void read_all(const std::filesystem::path& path,
              const std::function<void(const Entry&, const ReadFn&)>& on_entry) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(errno == ENOENT ? ErrorKind::not_found : ErrorKind::io,
                path.string() + ": cannot open the backup: " + errno_text());
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  const std::string where = path.string();
  auto corrupt = [&](const std::string& what) {
    return Error(ErrorKind::corrupt_file, where + ": not a usable hearth backup: " + what);
  };
  // Reads exactly n bytes, or says the backup is truncated.
  auto read_exact = [&](char* into, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::read(fd, into, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw Error(ErrorKind::io, where + ": cannot read: " + errno_text());
      if (r == 0) throw corrupt("it is truncated (it ends in the middle; was it copied completely?)");
      into += r;
      n -= static_cast<std::size_t>(r);
    }
  };
  std::vector<char> buffer(kChunk);
  std::string long_name;
  bool saw_manifest = false;
  for (;;) {
    Block b;
    read_exact(b.data(), kBlock);
    bool zero = true;
    for (char c : b) zero = zero && c == 0;
    if (zero) break;
    std::uint64_t recorded = 0, size = 0, mode = 0;
    if (!get_number(&b[148], 8, recorded) || recorded != checksum(b))
      throw corrupt("an entry's header is damaged (checksum mismatch)");
    if (std::memcmp(&b[257], "ustar", 5) != 0) throw corrupt("an entry is not in ustar format");
    if (!get_number(&b[124], 12, size)) throw corrupt("an entry's size field is damaged");
    get_number(&b[100], 8, mode);
    const char type = b[156];
    if (type == 'L') {
      if (size > 4096) throw corrupt("an entry's long name is too long");
      std::string text(size, '\0');
      read_exact(text.data(), size);
      if (size % kBlock) read_exact(buffer.data(), kBlock - size % kBlock);
      long_name = field_text(text.data(), text.size());
      continue;
    }
    std::string name = field_text(&b[0], 100);
    if (const std::string prefix = field_text(&b[345], 155); !prefix.empty()) name = prefix + "/" + name;
    if (!long_name.empty()) name = std::exchange(long_name, "");
    if (type != '0' && type != '\0')
      throw corrupt("'" + name + "' is not a regular file (hearth backups hold only files)");
    if (!allowed_path(name)) throw corrupt("it holds a file at an unexpected path: '" + name + "'");
    if (saw_manifest) throw corrupt("files follow its manifest");
    saw_manifest = name == kManifestName;
    std::uint64_t left = size;
    const ReadFn read = [&](const ChunkFn& chunk) {
      while (left > 0) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
        read_exact(buffer.data(), n);
        chunk(std::string_view(buffer.data(), n));
        left -= n;
      }
    };
    on_entry(Entry{name, size, static_cast<unsigned>(mode & 0777)}, read);
    read([](std::string_view) {});  // what the caller left unread
    if (size % kBlock) read_exact(buffer.data(), kBlock - size % kBlock);
  }
  if (!saw_manifest) throw corrupt("its manifest (" + std::string(kManifestName) + ") is missing");
}

}  // namespace hearth::cli::archive
