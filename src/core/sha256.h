// SHA-256 through OpenSSL, for content-addressed blobs and download verification.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace hearth {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const uint8_t> bytes);
  void update(std::string_view text);
  // Lower-case hex of the digest; the object cannot be updated afterwards.
  std::string finish_hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool finished_ = false;
};

std::string sha256_hex(std::string_view bytes);
// Hashes a file in chunks; Error(io or not_found) when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace hearth
