// A user's remote trainer: the OpenAI-compatible fine-tuning API they chose to train through
// (db::RemoteTrainers holds it), with the API key sealed at rest.
//
// Sealing: libsodium's crypto_secretbox_easy (XSalsa20-Poly1305) under one 32-byte key kept in
// HEARTH_HOME/secrets/remote.key, created with mode 0600 on first use (the folder 0700). A key
// file that group or others may read or write is refused rather than used. The stored text is
// base64 of nonce (24 random bytes) + ciphertext. The key is never logged nor returned by the API;
// it is opened only to call the remote. (Until the hardening work gives every secret one scheme.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "db/db.h"

namespace hearth::loop {

struct RemoteAccess {
  std::string base_url{};  // without a trailing '/', e.g. "https://api.openai.com/v1"
  std::string api_key{};   // in the clear: only for the request's Authorization header ('' : none)
  // True for an engine the machine's owner registered (`hearth remote add`): the owner named the
  // address, so loopback and private ones are allowed whatever HEARTH_ALLOW_PRIVATE_URLS says.
  // False (the default) for anything a user configured: url_policy applies.
  bool owner_named = false;
  long connect_timeout_ms = 10'000;
  long idle_timeout_s = 0;  // a transfer that receives nothing this long fails; 0: no limit
};

// HEARTH_HOME/secrets/remote.key
std::filesystem::path remote_key_file();

// Base64 of nonce + ciphertext, and back. Error(unavailable) when the key file is unusable
// (looser mode than 0600, wrong size); Error(corrupt_file) for a sealed text that does not open.
std::string seal_secret(const std::string& plain, const std::filesystem::path& key_file);
std::string open_secret(const std::string& sealed, const std::filesystem::path& key_file);

// The base URL as stored: http(s) only, trailing '/' removed; Error(invalid_input) otherwise.
// Unless HEARTH_ALLOW_PRIVATE_URLS=1, a host that resolves to a private or loopback address is
// refused too (a server-side fetch must not reach what the user could not).
std::string checked_base_url(const std::string& url);

// Why a call to `url` was refused by the address policy (`why`: store/url_policy.h's reason),
// with the setting the machine's owner can change.
std::string remote_refused_message(const std::string& url, const std::string& why);

// Stores (replacing) the user's settings with the key sealed.
void save_remote_trainer(const db::Database& db, std::int64_t user_id, const std::string& base_url,
                         const std::string& api_key);
// The user's settings with the key opened; nullopt when the user has none.
std::optional<RemoteAccess> remote_access(const db::Database& db, std::int64_t user_id);

}  // namespace hearth::loop
