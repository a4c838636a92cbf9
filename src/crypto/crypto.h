// Encryption at rest: the primitives every other module uses (DESIGN.md §3 "Encryption").
//
//   Key k = random_key();
//   std::string stored = seal_text(k, "hello", "messages.content");   // "hx1:..." (base64)
//   std::string back = open_text(k, stored, "messages.content");      // "hello"
//
// Text fields are XChaCha20-Poly1305 (IETF AEAD) with a random 24-byte nonce: "hx1:" followed by
// base64 of nonce + ciphertext + tag. The associated data names where the value lives (table and
// column), so a sealed value copied into another column does not open. A wrong key or a changed
// byte is Error(corrupt_file) saying so; never garbage.
//
// Keys: a master key (32 random bytes in a 0600 key file, or derived from a passphrase with
// argon2id) wraps one data key per user; data keys seal that user's fields and files. Each data
// key has a random 16-byte id, written in front of every sealed file so a reader finds its key.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace hearth::crypto {

inline constexpr std::size_t key_size = 32;
inline constexpr std::size_t key_id_size = 16;
inline constexpr std::size_t salt_size = 16;

// 32 secret bytes, wiped when destroyed.
class Key {
 public:
  Key() = default;
  Key(const Key& other) = default;
  Key& operator=(const Key& other) = default;
  ~Key();
  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  static constexpr std::size_t size() { return key_size; }

 private:
  std::array<unsigned char, key_size> bytes_{};
};

using KeyId = std::array<unsigned char, key_id_size>;

void ready();  // starts libsodium once; Error(internal) if it cannot
Key random_key();
KeyId random_key_id();
std::string key_id_hex(const KeyId& id);
KeyId key_id_from_hex(std::string_view hex);  // Error(corrupt_file) unless 32 hex digits

// ---- sealed text ---------------------------------------------------------------------------

inline constexpr std::string_view sealed_prefix = "hx1:";
bool is_sealed_text(std::string_view stored);
std::string seal_text(const Key& key, std::string_view plain, std::string_view where);
// Error(corrupt_file) naming `where` when the value is not sealed, or does not open.
std::string open_text(const Key& key, std::string_view stored, std::string_view where);

// Raw bytes in and out (the wrapped data keys): nonce + ciphertext + tag, no prefix/base64.
std::string seal_bytes(const Key& key, std::string_view plain, std::string_view where);
std::string open_bytes(const Key& key, std::string_view sealed, std::string_view where);

// ---- keys from outside -----------------------------------------------------------------------

// argon2id of the passphrase and salt (libsodium's interactive limits: 64 MiB, a fraction of a
// second; derived once per process and remembered, since every command opens the database).
Key key_from_passphrase(std::string_view passphrase, std::string_view salt);
std::string random_salt();

// A 32-byte key file: read only if it is mode 0600 (or stricter) and exactly 32 bytes, else
// Error(unavailable) saying what is wrong. create_key_file writes a new random key atomically
// (never replacing an existing file: Error(conflict)); its folder is made 0700.
Key read_key_file(const std::filesystem::path& file);
void write_key_file(const std::filesystem::path& file, const Key& key);
bool key_file_exists(const std::filesystem::path& file);
// The key in `file`, made (random, as write_key_file does) when there is none yet; two processes
// making it at once end with the same key.
Key read_or_create_key_file(const std::filesystem::path& file);

std::string to_base64(std::string_view bytes);
std::string from_base64(std::string_view text, std::string_view what);  // Error(corrupt_file)

}  // namespace hearth::crypto
