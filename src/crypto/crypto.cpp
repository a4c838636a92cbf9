#include "crypto/crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <mutex>

#include "core/error.h"

namespace hearth::crypto {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t nonce_size = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t tag_size = crypto_aead_xchacha20poly1305_ietf_ABYTES;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Key::~Key() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

void ready() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error(ErrorKind::internal, "libsodium could not start");
}

Key random_key() {
  ready();
  Key k;
  randombytes_buf(k.data(), k.size());
  return k;
}

KeyId random_key_id() {
  ready();
  KeyId id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

std::string key_id_hex(const KeyId& id) {
  std::string out(id.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), id.data(), id.size());
  out.pop_back();
  return out;
}

KeyId key_id_from_hex(std::string_view hex) {
  KeyId id{};
  std::size_t length = 0;
  if (hex.size() != id.size() * 2 ||
      sodium_hex2bin(id.data(), id.size(), hex.data(), hex.size(), nullptr, &length, nullptr) != 0 ||
      length != id.size())
    throw Error(ErrorKind::corrupt_file, "a stored key id is not 32 hex digits");
  return id;
}

bool is_sealed_text(std::string_view stored) {
  return stored.starts_with(sealed_prefix);
}

std::string seal_bytes(const Key& key, std::string_view plain, std::string_view where) {
  ready();
  std::string out(nonce_size + plain.size() + tag_size, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, nonce_size);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + nonce_size, &written, bytes(plain),
                                             plain.size(), bytes(where), where.size(), nullptr,
                                             nonce, key.data());
  out.resize(nonce_size + written);
  return out;
}

std::string open_bytes(const Key& key, std::string_view sealed, std::string_view where) {
  ready();
  if (sealed.size() < nonce_size + tag_size)
    throw Error(ErrorKind::corrupt_file,
                "encrypted " + std::string(where) + " is too short to be sealed data");
  std::string out(sealed.size() - nonce_size - tag_size, '\0');
  unsigned long long length = 0;
  const unsigned char* nonce = bytes(sealed);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &length, nullptr, nonce + nonce_size,
          sealed.size() - nonce_size, bytes(where), where.size(), nonce, key.data()) != 0)
    throw Error(ErrorKind::corrupt_file,
                "encrypted " + std::string(where) +
                    " does not open: the key is wrong or the stored data was changed");
  out.resize(length);
  return out;
}

std::string seal_text(const Key& key, std::string_view plain, std::string_view where) {
  return std::string(sealed_prefix) + to_base64(seal_bytes(key, plain, where));
}

std::string open_text(const Key& key, std::string_view stored, std::string_view where) {
  if (!is_sealed_text(stored))
    throw Error(ErrorKind::corrupt_file, "stored " + std::string(where) + " is not encrypted");
  stored.remove_prefix(sealed_prefix.size());
  return open_bytes(key, from_base64(stored, where), where);
}

std::string random_salt() {
  ready();
  std::string salt(salt_size, '\0');
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

Key key_from_passphrase(std::string_view passphrase, std::string_view salt) {
  ready();
  static_assert(salt_size == crypto_pwhash_SALTBYTES);
  if (salt.size() != salt_size)
    throw Error(ErrorKind::corrupt_file, "the stored passphrase salt is not 16 bytes");
  if (passphrase.empty()) throw Error(ErrorKind::invalid_input, "the passphrase is empty");
  // Derived once per process: every command opens the database, and the server may open it more
  // than once; the memory-hard derivation is the expensive part of a passphrase.
  static std::mutex mutex;
  static std::map<std::string, Key> derived;
  std::string cache_key;
  {
    const std::string input = std::string(salt) + std::string(passphrase);
    cache_key.resize(crypto_generichash_BYTES);
    crypto_generichash(reinterpret_cast<unsigned char*>(cache_key.data()), cache_key.size(),
                       bytes(input), input.size(), nullptr, 0);
  }
  std::lock_guard lock(mutex);
  if (auto it = derived.find(cache_key); it != derived.end()) return it->second;
  Key k;
  if (crypto_pwhash(k.data(), k.size(), passphrase.data(), passphrase.size(), bytes(salt),
                    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                    crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw Error(ErrorKind::out_of_memory,
                "deriving the key from the passphrase needs 64 MiB of memory, which is not free");
  derived.emplace(cache_key, k);
  return k;
}

bool key_file_exists(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file, ec);
}

Key read_key_file(const fs::path& file) {
  Fd in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (in.fd < 0 || ::fstat(in.fd, &st) != 0)
    throw Error(ErrorKind::unavailable, "cannot read the key file " + file.string());
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    throw Error(ErrorKind::unavailable, "the key file " + file.string() + " has mode " + mode +
                                            ": others may read it, so it is not used; run "
                                            "`chmod 600` on it");
  }
  Key k;
  if (st.st_size != static_cast<off_t>(k.size()) ||
      ::read(in.fd, k.data(), k.size()) != static_cast<ssize_t>(k.size()))
    throw Error(ErrorKind::unavailable, "the key file " + file.string() + " is not " +
                                            std::to_string(k.size()) + " bytes long");
  return k;
}

void write_key_file(const fs::path& file, const Key& key) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  ::chmod(file.parent_path().c_str(), 0700);
  // Written under a temporary name and linked into place: a reader never sees half a key, and an
  // existing key is never replaced (link fails when the name is taken).
  const fs::path temp = file.string() + ".new-" + std::to_string(::getpid());
  {
    Fd out{::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (out.fd < 0 ||
        ::write(out.fd, key.data(), key.size()) != static_cast<ssize_t>(key.size()) ||
        ::fsync(out.fd) != 0) {
      ::unlink(temp.c_str());
      throw Error(ErrorKind::io, "cannot write the key file " + file.string());
    }
  }
  const int linked = ::link(temp.c_str(), file.c_str());
  const int err = errno;
  ::unlink(temp.c_str());
  if (linked != 0) {
    if (err == EEXIST) throw Error(ErrorKind::conflict, "the key file " + file.string() +
                                                            " already exists");
    throw Error(ErrorKind::io, "cannot write the key file " + file.string());
  }
  Fd dir{::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);
}

Key read_or_create_key_file(const fs::path& file) {
  if (!key_file_exists(file)) {
    try {
      write_key_file(file, random_key());
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::conflict) throw;  // another process made it first
    }
  }
  return read_key_file(file);
}

std::string to_base64(std::string_view data) {
  ready();
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes(data), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string from_base64(std::string_view text, std::string_view what) {
  ready();
  std::string out(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    throw Error(ErrorKind::corrupt_file, "encrypted " + std::string(what) + " is not base64");
  out.resize(length);
  return out;
}

}  // namespace hearth::crypto
