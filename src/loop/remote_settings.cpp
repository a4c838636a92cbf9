// See remote_settings.h.
#include "loop/remote_settings.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>

#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"
#include "db/training.h"
#include "store/url_policy.h"

namespace hearth::loop {
namespace {

namespace fs = std::filesystem;
using Key = std::array<unsigned char, crypto_secretbox_KEYBYTES>;

void sodium_ready() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error(ErrorKind::internal, "libsodium could not start");
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads the key, creating it (0600, folder 0700) when there is none.
Key load_key(const fs::path& file) {
  sodium_ready();
  Key key{};
  fs::create_directories(file.parent_path());
  ::chmod(file.parent_path().c_str(), 0700);
  Fd out{::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (out.fd >= 0) {
    randombytes_buf(key.data(), key.size());
    if (::write(out.fd, key.data(), key.size()) != static_cast<ssize_t>(key.size()) ||
        ::fsync(out.fd) != 0) {
      ::unlink(file.c_str());
      throw Error(ErrorKind::io, "cannot write the secrets key " + file.string());
    }
    return key;
  }
  Fd in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  struct stat st {};
  if (in.fd < 0 || ::fstat(in.fd, &st) != 0)
    throw Error(ErrorKind::io, "cannot read the secrets key " + file.string());
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 0777));
    throw Error(ErrorKind::unavailable, "the secrets key " + file.string() + " has mode " + mode +
                                            ": others may read it, so it is not used; run "
                                            "`chmod 600` on it");
  }
  if (::read(in.fd, key.data(), key.size()) != static_cast<ssize_t>(key.size()) ||
      st.st_size != static_cast<off_t>(key.size()))
    throw Error(ErrorKind::unavailable, "the secrets key " + file.string() + " is not " +
                                            std::to_string(key.size()) + " bytes long");
  return key;
}

std::string to_base64(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string from_base64(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    throw Error(ErrorKind::corrupt_file, "a sealed secret is not base64");
  out.resize(length);
  return out;
}

}  // namespace

fs::path remote_key_file() {
  return paths::home() / "secrets" / "remote.key";
}

std::string seal_secret(const std::string& plain, const fs::path& key_file) {
  const Key key = load_key(key_file);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        key.data());
  return to_base64(out);
}

std::string open_secret(const std::string& sealed, const fs::path& key_file) {
  const Key key = load_key(key_file);
  const std::string bytes = from_base64(sealed);
  if (bytes.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    throw Error(ErrorKind::corrupt_file, "a sealed secret is too short");
  const auto* nonce = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t cipher = bytes.size() - crypto_secretbox_NONCEBYTES;
  std::string plain(cipher - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES, cipher, nonce,
                                 key.data()) != 0)
    throw Error(ErrorKind::corrupt_file,
                "a sealed secret does not open with " + key_file.string() +
                    " (the key file was replaced?): store the remote trainer settings again");
  return plain;
}

std::string checked_base_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  const bool http = u.starts_with("http://"), https = u.starts_with("https://");
  if (!http && !https)
    throw Error(
        ErrorKind::invalid_input,
        "field 'base_url' must be an http:// or https:// URL, e.g. https://api.openai.com/v1");
  const std::string rest = u.substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/' || rest.find_first_of(" \t\r\n@") != std::string::npos)
    throw Error(ErrorKind::invalid_input, "field 'base_url' has no valid host: '" + url + "'");
  if (config::get("HEARTH_ALLOW_PRIVATE_URLS") != "1")
    if (const std::string why = store::host_refusal(u, *store::AddressPolicy::public_only());
        !why.empty())
      throw Error(ErrorKind::invalid_input, remote_refused_message(u, why));
  return u;
}

std::string remote_refused_message(const std::string& url, const std::string& why) {
  return url + ": refused: " + why +
         "; the server calls the remote trainer on your behalf, so it may only reach public "
         "addresses (the machine's owner can allow private ones with HEARTH_ALLOW_PRIVATE_URLS=1)";
}

void save_remote_trainer(const db::Database& db, std::int64_t user_id, const std::string& base_url,
                         const std::string& api_key) {
  if (api_key.empty()) throw Error(ErrorKind::invalid_input, "field 'api_key' is required");
  db::RemoteTrainers(db).put(user_id, checked_base_url(base_url),
                             seal_secret(api_key, remote_key_file()));
}

std::optional<RemoteAccess> remote_access(const db::Database& db, std::int64_t user_id) {
  const auto row = db::RemoteTrainers(db).find(user_id);
  if (!row) return std::nullopt;
  return RemoteAccess{row->base_url, open_secret(row->sealed_key, remote_key_file())};
}

}  // namespace hearth::loop
