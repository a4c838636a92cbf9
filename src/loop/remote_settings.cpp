// See remote_settings.h.
#include "loop/remote_settings.h"

#include <sodium.h>

#include <memory>

#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"
#include "crypto/crypto.h"
#include "db/training.h"
#include "store/url_policy.h"

namespace hearth::loop {
namespace fs = std::filesystem;

fs::path remote_key_file() {
  return paths::home() / "secrets" / "remote.key";
}

std::string seal_secret(const std::string& plain, const fs::path& key_file) {
  const crypto::Key key = crypto::read_or_create_key_file(key_file);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        key.data());
  return crypto::to_base64(out);
}

std::string open_secret(const std::string& sealed, const fs::path& key_file) {
  const crypto::Key key = crypto::read_or_create_key_file(key_file);
  const std::string bytes = crypto::from_base64(sealed, "a sealed secret");
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
